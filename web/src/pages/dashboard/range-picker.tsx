/** The dashboard's date range: a preset or custom dates, and whether to compare with the previous period. */
import { periods, RANGES, type DashboardState, type RangeKey } from '../../reports';

export function RangePicker({ state, setState, today }: { state: DashboardState; setState: (p: Partial<DashboardState>) => void; today: string }) {
  const custom = state.custom ?? periods('28d', today).current;
  return (
    <div class="range" role="group" aria-label="Date range">
      <label class="sr-only" for="range-select">
        Date range
      </label>
      <select
        id="range-select"
        value={state.range}
        onChange={(e) => {
          const range = (e.target as HTMLSelectElement).value as RangeKey;
          setState(range === 'custom' ? { range, custom } : { range, custom: undefined });
        }}
      >
        {RANGES.map((r) => (
          <option value={r.key} key={r.key}>
            {r.label}
          </option>
        ))}
      </select>
      {state.range === 'custom' && (
        <span class="range-custom">
          <label>
            <span class="sr-only">From</span>
            <input
              type="date"
              value={custom.startDate}
              max={today}
              onChange={(e) => setState({ custom: { ...custom, startDate: (e.target as HTMLInputElement).value } })}
            />
          </label>
          <span aria-hidden="true">–</span>
          <label>
            <span class="sr-only">To</span>
            <input
              type="date"
              value={custom.endDate}
              max={today}
              onChange={(e) => setState({ custom: { ...custom, endDate: (e.target as HTMLInputElement).value } })}
            />
          </label>
        </span>
      )}
      <label class="toggle">
        <input type="checkbox" checked={state.compare} onChange={(e) => setState({ compare: (e.target as HTMLInputElement).checked })} />
        <span>Compare</span>
      </label>
    </div>
  );
}
