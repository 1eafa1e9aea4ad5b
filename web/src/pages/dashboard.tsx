import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { accounts, request, type Property } from '../api';
import { Chart } from '../chart';
import { navigate } from '../router';
import { useSession } from '../session';
import {
  breakdown,
  bucketTime,
  CARDS,
  change,
  formatChange,
  formatRange,
  formatValue,
  KPIS,
  kpiRequest,
  periods,
  RANGES,
  readKpis,
  readSeries,
  readState,
  readTable,
  seriesRequest,
  SERIES_METRICS,
  tableRequest,
  todayIn,
  writeState,
  FILTERABLE,
  type DashboardState,
  type Filter,
  type RangeKey,
  type ReportResponse,
} from '../reports';
import { Card, Empty, ErrorBox, Skeleton, useTitle } from '../ui';
import { Tabs } from '../tabs';

const runReport = (propertyId: string, body: unknown) => request<ReportResponse>('POST', `/v1beta/properties/${propertyId}:runReport`, body);

/** A report that reloads when its request changes, keeping the last answer on screen meanwhile. */
function useReport(propertyId: string, body: unknown | null, onSettled?: () => void) {
  const key = JSON.stringify(body);
  const [state, setState] = useState<{ data: ReportResponse | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: body !== null });
  useEffect(() => {
    let live = true;
    if (body === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    const settle = (data: ReportResponse | null, error: unknown) => {
      if (!live) return;
      setState({ data, error, loading: false });
      onSettled?.();
    };
    runReport(propertyId, body).then(
      (data) => settle(data, null),
      (error) => settle(null, error),
    );
    return () => void (live = false);
  }, [propertyId, key]);
  return state;
}

const regionNames = (() => {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' });
  } catch {
    return null;
  }
})();

function chipLabel(f: Filter): string {
  if (f.label) return f.label;
  if (f.dimension === 'countryId') {
    try {
      return regionNames?.of(f.value) ?? f.value;
    } catch {
      return f.value;
    }
  }
  return f.value;
}

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

      {state.filters.length > 0 && (
        <div class="chips" aria-label="Filters">
          <span class="chips-label">Filtered by</span>
          {state.filters.map((f) => (
            <span class="chip" key={f.dimension} data-testid="filter-chip">
              <span>
                <span class="chip-dim">{FILTERABLE.get(f.dimension) ?? f.dimension}</span> is <strong>{chipLabel(f)}</strong>
              </span>
              <button
                type="button"
                class="chip-x"
                onClick={() => removeFilter(f.dimension)}
                aria-label={`Remove filter ${FILTERABLE.get(f.dimension) ?? f.dimension} is ${chipLabel(f)}`}
              >
                ×
              </button>
            </span>
          ))}
          {state.filters.length > 1 && (
            <button type="button" class="btn btn-ghost btn-small" onClick={() => setState({ filters: [] })}>
              Clear all
            </button>
          )}
        </div>
      )}

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

function RangePicker({ state, setState, today }: { state: DashboardState; setState: (p: Partial<DashboardState>) => void; today: string }) {
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

function Kpis(props: {
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

function Series(props: {
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

function TableCard(props: {
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

let realtimeApi: Promise<boolean> | null = null;
/** Whether this server documents `:runRealtimeReport` in its OpenAPI document (asked once). */
function hasRealtimeApi(): Promise<boolean> {
  realtimeApi ??= fetch('/openapi.json')
    .then((r) => (r.ok ? r.json() : {}))
    .then((doc: { paths?: Record<string, unknown> }) => Object.keys(doc.paths ?? {}).some((p) => p.includes('runRealtimeReport')))
    .catch(() => false);
  return realtimeApi;
}

/** Users in the last 30 minutes, when the server has the realtime API; hidden otherwise. */
function Realtime({ propertyId }: { propertyId: string }) {
  const [users, setUsers] = useState<number | null>(null);
  useEffect(() => {
    let live = true;
    let timer = 0;
    const poll = async () => {
      if (!(await hasRealtimeApi())) return;
      try {
        const r = await request<ReportResponse>('POST', `/v1beta/properties/${propertyId}:runRealtimeReport`, { metrics: [{ name: 'activeUsers' }] });
        if (!live) return;
        setUsers(Number(r.rows?.[0]?.metricValues[0]?.value ?? 0));
        timer = window.setTimeout(poll, 30_000);
      } catch {
        // no realtime API on this server (or not allowed): the card stays hidden
        if (live) setUsers(null);
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [propertyId]);
  if (users === null) return null;
  return (
    <div class="realtime" role="status">
      <span class="live-dot" aria-hidden="true" /> <strong>{formatValue(users, 'int')}</strong> {users === 1 ? 'user' : 'users'} in the last 30 minutes
    </div>
  );
}

/** `/` for a signed-in user: their first property's dashboard, else the setup. */
export function goHome(properties: Property[]): void {
  navigate(properties.length ? `/p/${properties[0].id}` : '/welcome', { replace: true });
}
