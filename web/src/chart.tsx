import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  /** x values, seconds (UTC buckets) */
  xs: number[];
  current: number[];
  previous: number[] | null;
  hourly: boolean;
  label: string;
  format: (v: number) => string;
  /** the previous period's bucket labels, shown in the legend */
  previousLabel?: string;
}

const ACCENT = '#4f46e5';
const MUTED = '#9aa1ad';

function fill(u: uPlot): CanvasGradient | string {
  const ctx = u.ctx;
  // uPlot asks once before its first layout, when there is no plot box yet
  if (!u.bbox || !Number.isFinite(u.bbox.top) || !Number.isFinite(u.bbox.height)) return 'rgba(79, 70, 229, 0.12)';
  const g = ctx.createLinearGradient(0, u.bbox.top, 0, u.bbox.top + u.bbox.height);
  g.addColorStop(0, 'rgba(79, 70, 229, 0.22)');
  g.addColorStop(1, 'rgba(79, 70, 229, 0.01)');
  return g;
}

/** The time series: the period as a filled line, the previous period as a dashed one. */
export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const width = Math.max(280, el.clientWidth);
    const small = width < 520;
    const dateFmt = (ts: number) =>
      new Date(ts * 1000).toLocaleString('en-US', props.hourly ? { hour: 'numeric', timeZone: 'UTC' } : { month: 'short', day: 'numeric', timeZone: 'UTC' });
    const series: uPlot.Series[] = [
      {
        label: '',
        value: (_u, v) =>
          v == null
            ? ''
            : new Date(v * 1000).toLocaleString(
                'en-US',
                props.hourly
                  ? { month: 'short', day: 'numeric', hour: 'numeric', timeZone: 'UTC' }
                  : { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' },
              ),
      },
      {
        label: props.label,
        stroke: ACCENT,
        width: 2.5,
        fill,
        points: { show: props.xs.length <= 14, size: 6, fill: '#fff', stroke: ACCENT, width: 2 },
        value: (_u, v) => (v == null ? '–' : props.format(v)),
      },
    ];
    const data: uPlot.AlignedData = [props.xs, props.current];
    if (props.previous) {
      series.push({
        label: props.previousLabel ?? 'Previous period',
        stroke: MUTED,
        width: 1.5,
        dash: [5, 5],
        points: { show: false },
        value: (_u, v) => (v == null ? '–' : props.format(v)),
      });
      data.push(props.previous);
    }
    const max = Math.max(1, ...props.current, ...(props.previous ?? []));
    const tip = tooltip(props, (ts) =>
      new Date(ts * 1000).toLocaleString(
        'en-US',
        props.hourly
          ? { weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', timeZone: 'UTC' }
          : { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' },
      ),
    );
    const opts: uPlot.Options = {
      width,
      height: small ? 200 : 260,
      series,
      cursor: { y: false, points: { size: 8 }, drag: { x: false, y: false } },
      legend: { show: false },
      plugins: [tip],
      scales: { x: { time: true }, y: { range: [0, max * 1.15] } },
      axes: [
        {
          stroke: '#5b6270',
          grid: { show: false },
          ticks: { show: false },
          font: '12px system-ui, sans-serif',
          // a daily chart labels days only (uPlot may split at half days)
          values: (_u, splits) => splits.map((ts) => (props.hourly || ts % 86_400 === 0 ? dateFmt(ts) : '')),
          space: small ? 70 : 90,
        },
        {
          stroke: '#5b6270',
          grid: { stroke: '#eceef2', width: 1 },
          ticks: { show: false },
          font: '12px system-ui, sans-serif',
          size: 48,
          values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? props.format(v) : '')),
        },
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      const w = Math.max(280, el.clientWidth);
      if (plot.current && Math.abs(plot.current.width - w) > 2) plot.current.setSize({ width: w, height: w < 520 ? 200 : 260 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.xs, props.current, props.previous, props.label, props.hourly]);

  const peak = Math.max(0, ...props.current);
  return (
    <>
      <div class="chart-legend" aria-hidden="true">
        <span class="key key-current">{props.label}</span>
        {props.previous && <span class="key key-previous">{props.previousLabel ?? 'Previous period'}</span>}
      </div>
      <div
        class="chart"
        ref={host}
        role="img"
        aria-label={`${props.label} per ${props.hourly ? 'hour' : 'day'} over ${props.xs.length} ${props.hourly ? 'hours' : 'days'}, highest ${props.format(peak)}`}
      />
    </>
  );
}

/** A tooltip that follows the cursor: the bucket, its value and the previous period's (DOM text only). */
function tooltip(props: ChartProps, when: (ts: number) => string): uPlot.Plugin {
  const tip = document.createElement('div');
  tip.className = 'chart-tip';
  tip.hidden = true;
  const line = (cls: string) => {
    const el = document.createElement('div');
    el.className = cls;
    tip.appendChild(el);
    return el;
  };
  const head = line('chart-tip-head');
  const cur = line('chart-tip-row chart-tip-current');
  const prev = line('chart-tip-row chart-tip-previous');
  return {
    hooks: {
      init: (u) => void u.over.appendChild(tip),
      setCursor: (u) => {
        const i = u.cursor.idx;
        const left = u.cursor.left ?? -1;
        if (i == null || left < 0) {
          tip.hidden = true;
          return;
        }
        tip.hidden = false;
        head.textContent = when(props.xs[i]);
        cur.textContent = `${props.label}: ${props.format(props.current[i] ?? 0)}`;
        prev.hidden = !props.previous;
        if (props.previous) prev.textContent = `${props.previousLabel ?? 'Previous period'}: ${props.format(props.previous[i] ?? 0)}`;
        const w = u.over.clientWidth;
        // keep it inside the plot: flip to the cursor's left past the middle
        tip.style.left = left > w / 2 ? `${left - tip.offsetWidth - 12}px` : `${left + 12}px`;
        tip.style.top = '8px';
      },
    },
  };
}
