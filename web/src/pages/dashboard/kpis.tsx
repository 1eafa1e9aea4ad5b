/** The KPI strip: one number per metric (with its change when comparing); a chartable one picks the series. */
import type { Property } from '../../api';
import { change, formatChange, formatValue, KPIS, kpiRequest, readKpis, SERIES_METRICS, type DashboardState } from '../../reports';
import { ErrorBox } from '../../ui';
import { useReport } from './use-report';

export function Kpis(props: {
  property: Property;
  state: DashboardState;
  current: { startDate: string; endDate: string };
  previous: { startDate: string; endDate: string };
  onSettled: () => void;
  onPick: (metric: string) => void;
}) {
  const { data, error, loading } = useReport(
    props.property.id,
    kpiRequest(props.current, props.state.compare ? props.previous : null, props.state.filters),
    props.onSettled,
  );
  if (error) return <ErrorBox error={error} title="The numbers could not be loaded." />;
  const k = data ? readKpis(data) : null;
  const nothing = k && props.state.filters.length === 0 && k.current.sessions === 0 && k.current.screenPageViews === 0 && k.current.activeUsers === 0;
  return (
    <>
      {nothing && (
        <div class="alert alert-info" role="status">
          No visits in this period yet. Is the snippet on your site? <a href={`/p/${props.property.id}/install`}>See the install page</a> or pick a longer date
          range.
        </div>
      )}
      <div class={`kpis${loading && k ? ' is-reloading' : ''}`} data-widget="kpis" data-state={k ? 'ready' : 'loading'} aria-busy={loading ? 'true' : 'false'}>
        {KPIS.map((def) => {
          if (!k) return <div class="kpi kpi-loading" key={def.metric} aria-hidden="true" />;
          const v = k.current[def.metric];
          const c = k.previous ? change(v, k.previous[def.metric]) : null;
          const good = c === null || c === 0 ? 'flat' : c > 0 !== Boolean(def.lowerIsBetter) ? 'up' : 'down';
          const selectable = SERIES_METRICS.includes(def.metric);
          const selected = selectable && props.state.metric === def.metric;
          const body = (
            <>
              <span class="kpi-label" title={def.title}>
                {def.label}
              </span>
              <span class="kpi-value" data-testid={`kpi-${def.metric}`} data-value={String(v)}>
                {formatValue(v, def.format)}
              </span>
              {k.previous && (
                <span class={`kpi-change ${good}`}>
                  {c !== null && c !== 0 && <span aria-hidden="true">{c > 0 ? '▲' : '▼'} </span>}
                  {formatChange(c)}
                  <span class="sr-only"> compared with the previous period</span>
                </span>
              )}
            </>
          );
          return selectable ? (
            <button
              type="button"
              key={def.metric}
              class={`kpi kpi-button${selected ? ' selected' : ''}`}
              aria-pressed={selected}
              onClick={() => props.onPick(def.metric)}
              title={`Chart ${def.label.toLowerCase()}`}
            >
              {body}
            </button>
          ) : (
            <div class="kpi" key={def.metric}>
              {body}
            </div>
          );
        })}
      </div>
    </>
  );
}
