/** The series chart: the picked metric per day (per hour for a single day), with the previous period when comparing. */
import { useMemo } from 'preact/hooks';
import type { Property } from '../../api';
import { Chart } from '../../chart';
import { bucketTime, formatValue, KPIS, readSeries, seriesRequest, type DashboardState } from '../../reports';
import { Card, ErrorBox } from '../../ui';
import { useReport } from './use-report';

export function Series(props: {
  property: Property;
  state: DashboardState;
  current: { startDate: string; endDate: string };
  previous: { startDate: string; endDate: string };
  hourly: boolean;
  onSettled: () => void;
}) {
  const cur = useReport(props.property.id, seriesRequest(props.current, props.hourly, props.state.filters), props.onSettled);
  const prev = useReport(props.property.id, props.state.compare ? seriesRequest(props.previous, props.hourly, props.state.filters) : null);
  const metric = props.state.metric;
  const def = KPIS.find((k) => k.metric === metric)!;
  const chart = useMemo(() => {
    if (!cur.data) return null;
    const c = readSeries(cur.data, props.current, props.hourly);
    const p = props.state.compare && prev.data && !prev.error ? readSeries(prev.data, props.previous, props.hourly) : null;
    return { xs: c.keys.map(bucketTime), current: c.values[metric], previous: p ? c.keys.map((_, i) => p.values[metric][i] ?? 0) : null };
  }, [cur.data, prev.data, metric, props.state.compare]);
  return (
    <Card
      class="chart-card"
      title={
        <>
          {def.label} <span class="muted small">per {props.hourly ? 'hour' : 'day'}</span>
        </>
      }
      id="series"
    >
      <div data-widget="series" data-state={chart ? 'ready' : 'loading'} class={cur.loading && chart ? 'is-reloading' : ''}>
        {cur.error ? (
          <ErrorBox error={cur.error} title="The chart could not be loaded." />
        ) : chart ? (
          <Chart
            xs={chart.xs}
            current={chart.current}
            previous={chart.previous}
            hourly={props.hourly}
            label={def.label}
            format={(v) => formatValue(v, 'int', true)}
            previousLabel="Previous period"
          />
        ) : (
          <div class="chart-placeholder" aria-hidden="true" />
        )}
      </div>
    </Card>
  );
}
