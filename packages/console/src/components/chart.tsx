import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/**
 * A live line chart of a per-second series with uPlot: made once, then given new data with
 * `setData`, which is what uPlot is built for (no re-creation per update).
 */
export function LiveChart({ title, start, values, color }: { title: string; start: number; values: number[]; color: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data = (): uPlot.AlignedData => [values.map((_, i) => start + i), values];

  useEffect(() => {
    const width = Math.max(320, host.current!.clientWidth);
    plot.current = new uPlot(
      {
        width,
        height: 180,
        legend: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [{}, { label: title, stroke: color, fill: `${color}22`, width: 2 }],
        axes: [{}, { size: 50 }],
      },
      data(),
      host.current!,
    );
    return () => plot.current?.destroy();
  }, []);

  useEffect(() => {
    plot.current?.setData(data());
  }, [start, values]);

  const last = values.slice(-10);
  const rate = last.length > 0 ? last.reduce((a, b) => a + b, 0) / last.length : 0;
  return (
    <figure class="chart" data-chart={title}>
      <figcaption>
        {title} <span class="rate" data-rate>{rate.toFixed(1)}</span>/s <span class="muted">(last 10 s)</span>
      </figcaption>
      <div ref={host} />
    </figure>
  );
}
