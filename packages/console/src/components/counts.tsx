/** A small table of name → count, biggest first; `empty` when there is nothing to count. */
export function Counts({ counts, label, empty = 'none', names = {} }: { counts: Record<string, number>; label: string; empty?: string; names?: Record<string, string> }) {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="counts" data-counts={label}>
      <tbody>
        {rows.map(([name, n]) => (
          <tr key={name} data-name={name}>
            <td>{names[name] ? `${names[name]} (${name})` : name}</td>
            <td class="num">{n}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
