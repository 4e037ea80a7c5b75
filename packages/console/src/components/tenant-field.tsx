import type { ConsoleUser } from '../api.js';

/**
 * The tenant a page looks at: free for an operator (empty means every tenant where the API
 * allows it), fixed for a tenant admin, who sees only their own.
 */
export function TenantField({ user, value, onInput, placeholder = 'every tenant' }: { user: ConsoleUser; value: string; onInput: (v: string) => void; placeholder?: string }) {
  if (user.tenant !== undefined) {
    return (
      <label>
        tenant <input name="tenant" value={user.tenant} disabled />
      </label>
    );
  }
  return (
    <label>
      tenant <input name="tenant" value={value} placeholder={placeholder} onInput={(e) => onInput((e.target as HTMLInputElement).value.trim())} />
    </label>
  );
}
