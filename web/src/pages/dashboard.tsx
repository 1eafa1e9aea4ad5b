import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { accounts, type Property } from '../api';
import { navigate } from '../router';
import { useSession } from '../session';
import { CARDS, formatRange, KPIS, periods, readState, todayIn, writeState, type DashboardState, type Filter } from '../reports';
import { Card, ErrorBox, useTitle } from '../ui';
import { FilterChips } from './dashboard/filter-chips';
import { Kpis } from './dashboard/kpis';
import { RangePicker } from './dashboard/range-picker';
import { Realtime } from './dashboard/realtime';
import { Series } from './dashboard/series';
import { TableCard } from './dashboard/table-card';

/** Widgets report when their first answer is in; the dashboard marks when all are (for the e2e). */
function useReadiness(ids: string[]) {
  const ready = useRef(new Set<string>());
  const marked = useRef(false);
  return (id: string) => {
    ready.current.add(id);
    if (!marked.current && ids.every((x) => ready.current.has(x))) {
      marked.current = true;
      performance.mark('tally:widgets-filled');
      document.documentElement.dataset.widgetsFilled = '1';
    }
  };
}

export function Dashboard({ propertyId, search }: { propertyId: string; search: string }) {
  // the session already lists the user's properties: no round trip before the reports start
  const { session } = useSession();
  const known = session?.properties.find((p) => p.id === propertyId) ?? null;
  const [fetched, setFetched] = useState<Property | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const property = known ?? fetched;
  useTitle(property ? `${property.name} dashboard` : 'Dashboard');
  useEffect(() => {
    if (!known) accounts.property(propertyId).then(setFetched, setLoadError);
  }, [propertyId, Boolean(known)]);
  useEffect(() => {
    performance.mark('tally:dashboard-shell');
  }, []);

  const state = readState(search);
  const setState = (patch: Partial<DashboardState>) => navigate(`/p/${propertyId}${writeState({ ...state, ...patch })}`, { replace: true });

  if (loadError) return <ErrorBox error={loadError} title="This property could not be loaded." />;
  if (!property) {
    return (
      <div class="page" aria-busy="true">
        <div class="dash-head">
          <div class="skeleton-title" />
        </div>
        <div class="kpis">
          {KPIS.map((k) => (
            <div class="kpi kpi-loading" key={k.metric} />
          ))}
        </div>
        <Card>
          <div class="chart-placeholder" />
        </Card>
      </div>
    );
  }
  return <DashboardBody property={property} state={state} setState={setState} />;
}
function DashboardBody({ property, state, setState }: { property: Property; state: DashboardState; setState: (p: Partial<DashboardState>) => void }) {
  const today = todayIn(property.timeZone);
  const { current, previous } = periods(state.range, today, state.custom);
  const hourly = current.startDate === current.endDate;
  const [tabs, setTabs] = useState<Record<string, string>>({});
  const visibleTabs = CARDS.map((c) => tabs[c.id] ?? c.tabs[0]);
  const settled = useReadiness(useMemo(() => ['kpis', 'series', ...CARDS.map((c) => `table:${c.id}`)], []));

  const addFilter = (f: Filter) => setState({ filters: [...state.filters.filter((x) => x.dimension !== f.dimension), f] });
  const removeFilter = (dimension: string) => setState({ filters: state.filters.filter((f) => f.dimension !== dimension) });

  return (
    <div class="page dashboard">
      <div class="dash-head">
        <div>
          <h1>{property.name}</h1>
          <p class="muted small">
            {formatRange(current)}
            {state.compare && <> · compared with {formatRange(previous)}</>}
          </p>
        </div>
        <RangePicker state={state} setState={setState} today={today} />
      </div>

      <FilterChips filters={state.filters} onRemove={removeFilter} onClear={() => setState({ filters: [] })} />

      <Realtime propertyId={property.id} />
      <Kpis
        property={property}
        state={state}
        current={current}
        previous={previous}
        onSettled={() => settled('kpis')}
        onPick={(metric) => setState({ metric })}
      />
      <Series property={property} state={state} current={current} previous={previous} hourly={hourly} onSettled={() => settled('series')} />

      <div class="tables">
        {CARDS.map((c, i) => (
          <TableCard
            key={c.id}
            card={c}
            tab={visibleTabs[i]}
            onTab={(t) => setTabs({ ...tabs, [c.id]: t })}
            property={property}
            range={current}
            filters={state.filters}
            onFilter={addFilter}
            onSettled={() => settled(`table:${c.id}`)}
          />
        ))}
      </div>
    </div>
  );
}

/** `/` for a signed-in user: their first property's dashboard, else the setup. */
export function goHome(properties: Property[]): void {
  navigate(properties.length ? `/p/${properties[0].id}` : '/welcome', { replace: true });
}
