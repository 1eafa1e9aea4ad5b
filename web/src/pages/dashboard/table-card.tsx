/** A table card: one breakdown (or a tab of several) as bars; a row click filters the dashboard by its value. */
import type { Property } from '../../api';
import { breakdown, formatValue, readTable, tableRequest, type Filter } from '../../reports';
import { Tabs } from '../../tabs';
import { Card, Empty, ErrorBox, Skeleton } from '../../ui';
import { useReport } from './use-report';

export function TableCard(props: {
  card: { id: string; title: string; tabs: string[] };
  tab: string;
  onTab: (t: string) => void;
  property: Property;
  range: { startDate: string; endDate: string };
  filters: Filter[];
  onFilter: (f: Filter) => void;
  onSettled: () => void;
}) {
  const b = breakdown(props.tab);
  const { data, error, loading } = useReport(props.property.id, tableRequest(b, props.range, props.filters), props.onSettled);
  const table = data ? readTable(data, b) : null;
  const max = table ? Math.max(1, ...table.rows.map((r) => r.metric)) : 1;
  const filterDim = b.filterDimension ?? b.dimension;
  const active = props.filters.find((f) => f.dimension === filterDim);
  return (
    <Card
      class="table-card"
      id={`card-${props.card.id}`}
      title={props.card.tabs.length === 1 ? props.card.title : undefined}
      actions={
        props.card.tabs.length > 1 ? (
          <Tabs
            small
            label={props.card.title}
            tabs={props.card.tabs.map((t) => ({ id: t, label: breakdown(t).label }))}
            selected={props.tab}
            onSelect={props.onTab}
          />
        ) : undefined
      }
    >
      <div
        role={props.card.tabs.length > 1 ? 'tabpanel' : undefined}
        aria-label={b.label}
        data-widget={`table:${props.card.id}`}
        data-state={table ? 'ready' : 'loading'}
        class={loading && table ? 'is-reloading' : ''}
      >
        <div class="bars-head" aria-hidden="true">
          <span>{b.column ?? b.label}</span>
          <span>{b.metricLabel}</span>
        </div>
        {error ? (
          <ErrorBox error={error} />
        ) : !table ? (
          <Skeleton lines={6} />
        ) : table.rows.length === 0 ? (
          <Empty title={b.id === 'keyEvents' ? 'No key events in this period' : 'Nothing in this period'}>
            {b.id === 'keyEvents' ? <p>Mark events as key events in the property settings.</p> : <p>Try a longer date range or remove a filter.</p>}
          </Empty>
        ) : (
          <ul class="bars" aria-label={`${b.label} by ${b.metricLabel.toLowerCase()}`} data-testid={`table-${b.id}`}>
            {table.rows.map((r) => (
              <li key={r.value}>
                <button
                  type="button"
                  class={`bar-row${active?.value === r.value ? ' active' : ''}`}
                  onClick={() => props.onFilter({ dimension: filterDim, value: r.value, label: r.label })}
                  title={`Filter the dashboard by ${r.label}`}
                  aria-pressed={active?.value === r.value}
                  data-value={r.value}
                >
                  <span class="bar-fill" style={{ width: `${(r.metric / max) * 100}%` }} aria-hidden="true" />
                  <span class="bar-label">{r.label}</span>
                  <span class="bar-value">{formatValue(r.metric, 'int', true)}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}
