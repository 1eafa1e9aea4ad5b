import { FIRST_SESSIONS_TABLE, sessionKeysTable, sessionsTable, usersTable } from '../domain/rollups.js';
import { rollupFor } from './rollup-choice.js';
import { atom, findDimension, type AtomGroup, type MetricType } from './catalog.js';
import { TallyError } from '../infra/errors.js';
import { compileFilter, filterFields } from './report-filter-sql.js';
import { rollingCtes } from './report-rolling.js';
import {
  ATOM_REF,
  atomsOf,
  fromDef,
  metricColumnFor,
  resolveMetrics,
  resolveRequested,
  rowLevel,
  type MetricColumn,
  type ResolvedDim,
} from './report-compiler-fields.js';
import type { ReportRequest, RequestedDimension } from './report-request.js';
import type { SqlDialect } from './sql-dialect.js';
import { Params } from './sql-params.js';

/**
 * Compiles a validated report request into parameterised SQL over `events` / `sessions`.
 *
 * Strategy (one per metric group, merged on the dimension values):
 * - event atoms (eventCount, views, key events, engagement time) aggregate event rows;
 * - user atoms count DISTINCT client_id over event rows (a user counts in every dimension
 *   value they had an event with);
 * - session atoms: when every dimension in use (requested or filtered) is answerable from the
 *   sessions table, sessions are counted there, on their start date; as soon as an
 *   event-scoped dimension is in use (pagePath × sessions), a session counts under each value
 *   it had an event with: DISTINCT (dimensions, session_key) over event rows — GA4's meaning.
 * - item atoms (itemRevenue, itemsPurchased…) aggregate `items` rows joined to their events;
 *   item-scoped dimensions go only with them.
 * Groups are computed separately, UNION ALL'ed and summed per dimension tuple, then metrics are
 * expressions over those sums. Every table reference is pinned to tenant_id = $1 and
 * property_id = $2 and excludes bots; every user value is a bound parameter; field names come
 * only from the catalog.
 */
export interface CompiledQuery {
  sql: string;
  params: unknown[];
}

export interface CompiledReport {
  /** Rows with d0.., dr_idx, dr_name, m0.. (visible metrics first), row_count. */
  rows: CompiledQuery;
  /** The full row count (for an offset past the last row). */
  count: CompiledQuery;
  /** One row per date range: dr_idx, dr_name, m0.. over everything the filters keep. */
  totals?: CompiledQuery;
  /** One row per date range: dr_idx, dr_name, max_m0.., min_m0.. over the report rows. */
  extremes?: CompiledQuery;
  dimensionColumns: string[];
  metricColumns: { column: string; name: string; type: MetricType }[];
  /** Which tables answered the report's rows: rollups only, detail only, or both (per metric group). */
  path: 'rollup' | 'detail' | 'mixed';
  /** The tables the report's rows read (for the benchmark's rows-scanned figure). */
  tables: string[];
}

export interface CompileOptions {
  /** The warehouse keeps the rollups of src/domain/rollups.ts (Warehouse.rollups). */
  rollups?: boolean;
}

export interface TenantScope {
  tenantId: string;
  propertyId: string;
  /** The property's currency: revenue is converted to it unless the request names another. */
  currencyCode?: string;
}

export { Params };
export { fromDef, rowLevel, type ResolvedDim };

interface Chain {
  /** `WITH ... f AS (...)`: the filtered report rows. */
  sql: string;
  params: Params;
  metrics: MetricColumn[];
  eventPath: boolean;
  /** Per metric group: the table it read. */
  sources: { table: string; rollup: boolean }[];
}

interface ChainOptions {
  dimensions: RequestedDimension[];
  withMetricFilter: boolean;
  keepEmptyRows: boolean;
  /** Forces the session-counting strategy (totals follow their report's). */
  eventPath?: boolean;
  rollups: boolean;
}

export function compileReport(req: ReportRequest, scope: TenantScope, d: SqlDialect, copts: CompileOptions = {}): CompiledReport {
  const rollups = copts.rollups ?? false;
  const main = () => buildChain(req, scope, d, { dimensions: req.dimensions, withMetricFilter: true, keepEmptyRows: req.keepEmptyRows, rollups });
  const c = main();
  const dcols = req.dimensions.map((_, i) => `d${i}`);

  const order: string[] = [];
  for (const o of req.orderBys) {
    const dir = o.desc ? 'DESC' : 'ASC';
    if (o.kind === 'metric') {
      order.push(`${metricColumnFor(c.metrics, o.metricName)} ${dir}`);
      continue;
    }
    const i = req.dimensions.findIndex((x) => x.name === o.dimensionName);
    const col = i < 0 ? 'dr_name' : `d${i}`;
    if (o.orderType === 'NUMERIC') order.push(`${d.toNumber(col)} ${dir} NULLS ${o.desc ? 'LAST' : 'FIRST'}`);
    else if (o.orderType === 'CASE_INSENSITIVE_ALPHANUMERIC') order.push(`LOWER(${col}) ${dir}`);
    else order.push(`${d.codePointOrder(col)} ${dir}`);
  }
  const firstMetric = c.metrics.find((m) => m.requested);
  if (req.orderBys.length === 0 && firstMetric) order.push(`${firstMetric.column} DESC`);
  order.push(...dcols.map((col) => `${d.codePointOrder(col)} ASC`), 'dr_idx ASC');
  const limit = c.params.add(req.limit, 'bigint');
  const offset = c.params.add(req.offset, 'bigint');
  const rows: CompiledQuery = {
    sql: `${c.sql}SELECT f.*, COUNT(*) OVER () AS row_count FROM f ORDER BY ${order.join(', ')} LIMIT ${limit} OFFSET ${offset}`,
    params: c.params.values,
  };

  const cc = main();
  const count: CompiledQuery = { sql: `${cc.sql}SELECT COUNT(*) AS row_count FROM f`, params: cc.params.values };

  let extremes: CompiledQuery | undefined;
  if (req.metricAggregations.some((a) => a === 'MAXIMUM' || a === 'MINIMUM')) {
    const ce = main();
    const cols = ce.metrics.flatMap((m) => [`MAX(${m.column}) AS max_${m.column}`, `MIN(${m.column}) AS min_${m.column}`]);
    extremes = {
      sql: `${ce.sql}SELECT ${['dr_idx', 'dr_name', ...cols].join(', ')} FROM f GROUP BY dr_idx, dr_name ORDER BY dr_idx`,
      params: ce.params.values,
    };
  }

  let totals: CompiledQuery | undefined;
  if (req.metricAggregations.includes('TOTAL')) {
    const ct = buildChain(req, scope, d, { dimensions: [], withMetricFilter: false, keepEmptyRows: true, eventPath: c.eventPath, rollups });
    totals = { sql: `${ct.sql}SELECT * FROM f ORDER BY dr_idx`, params: ct.params.values };
  }

  return {
    rows,
    count,
    totals,
    extremes,
    dimensionColumns: dcols,
    metricColumns: c.metrics.filter((m) => m.visible).map((m) => ({ column: m.column, name: m.name, type: m.type })),
    path: c.sources.every((x) => x.rollup) ? 'rollup' : c.sources.some((x) => x.rollup) ? 'mixed' : 'detail',
    tables: [...new Set(c.sources.map((x) => x.table))],
  };
}

function buildChain(req: ReportRequest, scope: TenantScope, d: SqlDialect, opts: ChainOptions): Chain {
  const p = new Params(d);
  const tenant = p.add(scope.tenantId, 'text');
  const property = p.add(scope.propertyId, 'text');

  // With comparisons, each (date range, comparison) pair is one `dr` row: idx = range × C + comparison.
  const cmpCount = Math.max(1, req.comparisons.length);
  const dr = req.dateRanges
    .flatMap((r, i) =>
      Array.from(
        { length: cmpCount },
        (_, j) =>
          `SELECT ${i * cmpCount + j} AS idx, ${p.add(r.name, 'text')} AS name, ${p.add(r.startDate, 'date')} AS start_date, ` +
          `${p.add(r.endDate, 'date')} AS end_date, ${j} AS cmp`,
      ),
    )
    .join(' UNION ALL ');
  const { from, to } = dateHull(req.dateRanges, p);
  const scoped = (alias: string) => `${alias}.tenant_id = ${tenant} AND ${alias}.property_id = ${property} AND ${alias}.local_date BETWEEN ${from} AND ${to}`;
  // rollups hold no bot rows (src/domain/rollups.ts)
  const pin = (alias: string) => `${scoped(alias)} AND ${alias}.is_bot IS NOT TRUE`;
  const sources: Chain['sources'] = [];

  const groupDims = opts.dimensions.map((rd) => resolveRequested(rd, p, d));
  const filterDim = (name: string): ResolvedDim => {
    const requested = req.dimensions.find((x) => x.name === name);
    return requested ? resolveRequested(requested, p, d) : fromDef(findDimension(name)!, d);
  };
  const filterDims = [req.dimensionFilter, ...req.comparisons.map((c) => c.filter)].flatMap((f) => (f ? filterFields(f).map(filterDim) : []));
  const allDimsInUse = [...groupDims, ...filterDims];
  const eventPath = opts.eventPath ?? allDimsInUse.some((x) => x.session === undefined);

  const metrics = resolveMetrics(req, p, d);
  const atoms = new Set(metrics.flatMap((m) => atomsOf(m.sql)));
  if (atoms.size === 0) atoms.add('ev_count');
  const itemDims = allDimsInUse.some((x) => x.item);
  if (itemDims && [...atoms].some((a) => atom(a).group !== 'item')) {
    throw new TallyError(
      'invalid_argument',
      'Please remove item-scoped dimensions (itemId, itemName, …) or use only item-scoped metrics (itemsViewed, itemsAddedToCart, itemsPurchased, itemRevenue): this request is incompatible.',
    );
  }
  const groups = (['event', 'session', 'user', 'item', 'rolling'] as AtomGroup[])
    .map((g) => ({ group: g, atoms: [...atoms].filter((a) => atom(a).group === g) }))
    .filter((g) => g.atoms.length > 0);
  const allAtoms = groups.flatMap((g) => g.atoms);
  const keyCols = [...groupDims.map((_, i) => `d${i}`), 'dr_idx', 'dr_name'];
  const dimsNeedSession = allDimsInUse.some((x) => x.needsSession);
  const dimsNeedFs = allDimsInUse.some((x) => x.needsFirstSession);
  const dimsNeedFu = allDimsInUse.some((x) => x.needsFirstUser);

  // a rollup answers a group when every dimension in use reads only columns it keeps
  const usersRollup = opts.rollups
    ? rollupFor(
        'users',
        allDimsInUse.map((x) => x.event),
      )
    : undefined;
  const sessionsRollup =
    opts.rollups && !eventPath
      ? rollupFor(
          'sessions',
          allDimsInUse.map((x) => x.session!),
        )
      : undefined;
  const sessionKeysRollup =
    opts.rollups && eventPath && !dimsNeedFs
      ? rollupFor(
          'session_keys',
          allDimsInUse.map((x) => x.event),
        )
      : undefined;
  const rollupAtoms = (g: { atoms: string[] }) => g.atoms.map((a) => atom(a).rollup?.(d));
  const usersFromRollup = (g: { group: AtomGroup; atoms: string[] }) =>
    (g.group === 'event' || g.group === 'user') && usersRollup !== undefined && rollupAtoms(g).every((x) => x !== undefined);

  const ctes: string[] = [`dr AS (${dr})`];
  // the detail form of newUsers reads `fs`; its rollup form reads rollup_first_sessions instead
  if (dimsNeedFs || groups.some((g) => !usersFromRollup(g) && g.atoms.some((a) => atom(a).needsFirstSession))) {
    // Each user's first session over everything loaded for the property, not only the range.
    ctes.push(
      `fs AS (SELECT session_key FROM (SELECT session_key, ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY session_start_ms, session_key) AS rn ` +
        `FROM sessions WHERE tenant_id = ${tenant} AND property_id = ${property} AND is_bot IS NOT TRUE AND client_id IS NOT NULL) first_sessions WHERE rn = 1)`,
    );
  }

  if (dimsNeedFu) {
    // Each client's first session over everything loaded for the property: how it was first acquired,
    // by the session's own source (`collected_*`; rows loaded before those columns hold it in `source` …).
    const own = (c: string) => `CASE WHEN collected_source IS NULL THEN ${c} ELSE collected_${c} END AS ${c}`;
    ctes.push(
      `fu AS (SELECT client_id, source, medium, campaign, channel_group FROM (SELECT client_id, ${['source', 'medium', 'campaign', 'channel_group'].map(own).join(', ')}, ` +
        `ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY session_start_ms, session_key) AS rn ` +
        `FROM sessions WHERE tenant_id = ${tenant} AND property_id = ${property} AND is_bot IS NOT TRUE AND client_id IS NOT NULL) first_user WHERE rn = 1)`,
    );
  }

  if (groups.some((g) => g.group === 'user' || g.group === 'rolling')) {
    // Each client's first linked user over everything loaded for the property (catalog USER_KEY).
    ctes.push(identityCte(tenant, property));
  }

  const fxCurrency = (g: AtomGroup) =>
    g === 'event' || g === 'item'
      ? groups
          .find((x) => x.group === g)
          ?.atoms.map((a) => atom(a).needsFx)
          .find(Boolean)
      : undefined;
  if (groups.some((g) => fxCurrency(g.group))) {
    ctes.push(`tgt AS (SELECT ${p.add(req.currencyCode ?? scope.currencyCode ?? 'USD', 'text')} AS code)`);
  }
  const dimensionWhere = (form: 'event' | 'session') => {
    const field = (n: string) => rowLevel(filterDim(n), form);
    const where = req.dimensionFilter ? [compileFilter(req.dimensionFilter, field, false, p, d)] : [];
    // a row counts in each comparison whose filter it passes
    if (req.comparisons.length) {
      where.push(`(CASE dr.cmp ${req.comparisons.map((c, j) => `WHEN ${j} THEN ${compileFilter(c.filter, field, false, p, d)}`).join(' ')} ELSE FALSE END)`);
    }
    return where;
  };
  const eventSource = (joinSession: boolean, joinFs: boolean, joinIdm = false, group?: AtomGroup) =>
    (group === 'item'
      ? `FROM items i JOIN events e ON e.tenant_id = ${tenant} AND e.property_id = ${property} AND e.local_date = i.local_date AND e.event_id = i.event_id` +
        ` JOIN dr ON i.local_date BETWEEN dr.start_date AND dr.end_date`
      : `FROM events e JOIN dr ON e.local_date BETWEEN dr.start_date AND dr.end_date`) +
    (joinSession ? ` LEFT JOIN sessions s ON s.tenant_id = ${tenant} AND s.property_id = ${property} AND s.session_key = e.session_key` : '') +
    (joinFs ? ' LEFT JOIN fs ON fs.session_key = e.session_key' : '') +
    (joinIdm ? ' LEFT JOIN idm ON idm.client_id = e.client_id' : '') +
    (dimsNeedFu ? ' LEFT JOIN fu ON fu.client_id = e.client_id' : '') +
    fxJoins(group) +
    ` WHERE ${[...(group === 'item' ? [pin('i')] : []), pin('e'), ...dimensionWhere('event')].join(' AND ')}`;
  const fxJoins = (group?: AtomGroup) => {
    const fx = group ? fxCurrency(group) : undefined;
    if (!fx) return '';
    return (
      ` CROSS JOIN tgt LEFT JOIN fx_rates fxt ON fxt.rate_date = e.local_date AND fxt.currency = tgt.code` +
      ` LEFT JOIN fx_rates fxs ON fxs.rate_date = e.local_date AND fxs.currency = ${fx.currency(d)}`
    );
  };
  const dimSelect = (form: 'event' | 'session') =>
    groupDims.map((x, i) => `${form === 'event' ? x.event : x.session} AS d${i}`).concat('dr.idx AS dr_idx', 'dr.name AS dr_name');
  const groupBy = ` GROUP BY ${keyCols.join(', ')}`;

  for (const g of groups) {
    const atomSelect = g.atoms.map((a) => `${atom(a).sql(d)} AS ${a}`);
    if (g.group === 'rolling') {
      sources.push({ table: 'events', rollup: false });
      const groupSql = groupDims.map((x) => x.event);
      const atomSql = g.atoms.map((a) => ({ name: a, sql: atom(a).sql(d) }));
      const dimsInUse = allDimsInUse.map((x) => x.event);
      ctes.push(
        ...rollingCtes({
          d,
          tenant,
          property,
          from,
          to,
          groupDims: groupSql,
          dimsInUse,
          where: dimensionWhere('event'),
          atoms: atomSql,
          keyCols,
          joinFs: dimsNeedFs,
          joinFu: dimsNeedFu,
        }),
      );
      continue;
    }
    const fromRollup = rollupAtoms(g);
    const canRollup = fromRollup.every((x) => x !== undefined);
    const rollupSelect = fromRollup.map((x, i) => `${x} AS ${g.atoms[i]}`);
    if (g.group === 'session' && !eventPath && sessionsRollup && canRollup) {
      const table = sessionsTable(sessionsRollup);
      sources.push({ table, rollup: true });
      ctes.push(
        `g_session AS (SELECT ${[...dimSelect('session'), ...rollupSelect].join(', ')} FROM ${table} s ` +
          `JOIN dr ON s.local_date BETWEEN dr.start_date AND dr.end_date WHERE ${[scoped('s'), ...dimensionWhere('session')].join(' AND ')}${groupBy})`,
      );
    } else if (g.group === 'session' && !eventPath) {
      sources.push({ table: 'sessions', rollup: false });
      ctes.push(
        `g_session AS (SELECT ${[...dimSelect('session'), ...atomSelect].join(', ')} FROM sessions s ` +
          `JOIN dr ON s.local_date BETWEEN dr.start_date AND dr.end_date` +
          (dimsNeedFs ? ' LEFT JOIN fs ON fs.session_key = s.session_key' : '') +
          (dimsNeedFu ? ' LEFT JOIN fu ON fu.client_id = s.client_id' : '') +
          ` WHERE ${[pin('s'), ...dimensionWhere('session')].join(' AND ')}${groupBy})`,
      );
    } else if (g.group === 'session' && sessionKeysRollup && canRollup) {
      // sessions under event-scoped dimensions: the detail form's DISTINCT session rows, from the set's session keys
      const table = sessionKeysTable(sessionKeysRollup);
      sources.push({ table, rollup: true });
      const inner =
        `SELECT DISTINCT ${[...dimSelect('event'), 'e.session_key', 'e.engaged', 'e.duration_s', 'e.key_events'].join(', ')} FROM ${table} e ` +
        `JOIN dr ON e.local_date BETWEEN dr.start_date AND dr.end_date WHERE ${[scoped('e'), ...dimensionWhere('event')].join(' AND ')}`;
      ctes.push(`g_session AS (SELECT ${[...keyCols, ...atomSelect].join(', ')} FROM (${inner}) s${groupBy})`);
    } else if (g.group === 'session') {
      sources.push({ table: 'events', rollup: false });
      const inner =
        `SELECT DISTINCT ${[...dimSelect('event'), 'e.session_key', 's.engaged', 's.duration_s', 's.key_events'].join(', ')} ` + eventSource(true, dimsNeedFs);
      ctes.push(`g_session AS (SELECT ${[...keyCols, ...atomSelect].join(', ')} FROM (${inner}) s${groupBy})`);
    } else if (usersRollup && usersFromRollup(g)) {
      const table = usersTable(usersRollup);
      sources.push({ table, rollup: true });
      const source =
        `FROM ${table} e JOIN dr ON e.local_date BETWEEN dr.start_date AND dr.end_date` +
        (g.group === 'user' ? ' LEFT JOIN idm ON idm.client_id = e.client_id' : '') +
        (g.atoms.some((a) => atom(a).needsFirstSession)
          ? ` LEFT JOIN ${FIRST_SESSIONS_TABLE} fsn ON fsn.tenant_id = ${tenant} AND fsn.property_id = ${property} AND fsn.client_id = e.client_id`
          : '') +
        ` WHERE ${[scoped('e'), ...dimensionWhere('event')].join(' AND ')}`;
      ctes.push(`g_${g.group} AS (SELECT ${[...dimSelect('event'), ...rollupSelect].join(', ')} ${source}${groupBy})`);
    } else {
      sources.push({ table: 'events', rollup: false });
      const joinSession = dimsNeedSession || g.atoms.some((a) => atom(a).needsSession);
      const joinFs = dimsNeedFs || g.atoms.some((a) => atom(a).needsFirstSession);
      const source = eventSource(joinSession, joinFs, g.group === 'user', g.group);
      ctes.push(`g_${g.group} AS (SELECT ${[...dimSelect('event'), ...atomSelect].join(', ')} ${source}${groupBy})`);
    }
  }

  const nullAtom = (a: string) => `${d.nullOf(atom(a).type)} AS ${a}`;
  ctes.push(
    `u AS (${groups
      .map((g) => `SELECT ${[...keyCols, ...allAtoms.map((a) => (g.atoms.includes(a) ? a : nullAtom(a)))].join(', ')} FROM g_${g.group}`)
      .join(' UNION ALL ')})`,
  );
  ctes.push(`agg AS (SELECT ${[...keyCols, ...allAtoms.map((a) => `SUM(${a}) AS ${a}`)].join(', ')} FROM u${groupBy})`);
  const presented = groupDims.map((x, i) => `${x.present ? x.present(`d${i}`) : `d${i}`} AS d${i}`);
  const metricSelect = metrics.map((m) => `${m.sql.replace(ATOM_REF, (_, a: string) => `COALESCE(${a}, 0)`)} AS ${m.column}`);
  ctes.push(`m AS (SELECT ${[...presented, 'dr_idx', 'dr_name', ...metricSelect].join(', ')} FROM agg)`);

  const keep: string[] = [];
  if (opts.withMetricFilter && req.metricFilter) {
    keep.push(compileFilter(req.metricFilter, (n) => metricColumnFor(metrics, n), true, p, d));
  }
  const requested = metrics.filter((m) => m.requested);
  if (!opts.keepEmptyRows && requested.length > 0) keep.push(`NOT (${requested.map((m) => `${m.column} = 0`).join(' AND ')})`);
  ctes.push(`f AS (SELECT * FROM m${keep.length ? ` WHERE ${keep.join(' AND ')}` : ''})`);
  return { sql: `WITH ${ctes.join(',\n')}\n`, params: p, metrics, eventPath, sources };
}

/**
 * The date ranges' hull as bound constants: lets DuckDB skip row groups by their min/max and
 * PostgreSQL use its (tenant_id, property_id, local_date) indexes (a join with `dr` alone does neither).
 */
export function dateHull(ranges: readonly { startDate: string; endDate: string }[], p: Params): { from: string; to: string } {
  const from = ranges.map((r) => r.startDate).reduce((a, b) => (a < b ? a : b));
  const to = ranges.map((r) => r.endDate).reduce((a, b) => (a > b ? a : b));
  return { from: p.add(from, 'date'), to: p.add(to, 'date') };
}

/** `idm`: each client's first linked user over everything loaded for the property (catalog USER_KEY reads it). */
export function identityCte(tenant: string, property: string): string {
  return (
    `idm AS (SELECT client_id, user_id FROM (SELECT client_id, user_id, ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY linked_ms, user_id) AS rn ` +
    `FROM identities WHERE tenant_id = ${tenant} AND property_id = ${property}) first_links WHERE rn = 1)`
  );
}
