import { findDimension, USER_KEY } from './catalog.js';
import type { FunnelRequest, StepExpr } from './funnel-request.js';
import { dateHull, fromDef, identityCte, Params, rowLevel, type CompiledQuery, type TenantScope } from './report-compiler.js';
import { compileFilter, compileLeaf } from './report-filter-sql.js';
import type { SqlDialect } from './sql-dialect.js';

/**
 * A funnel as one SQL statement, written once and compiled per dialect (DuckDB, PostgreSQL,
 * Redshift): the only dialect-specific pieces are the SqlDialect's.
 *
 * `ev`: the property's events in each date range (bots excluded, the dimension filter applied;
 * only the events of some step unless a step is directly-followed or next actions are asked),
 * numbered per (date range, user) in time order (`ord`), with one 0/1 column per step condition,
 * the breakdown value, the day and the next event's next-action value.
 * `r<k>`: the events that reach step k. Closed funnel: step 1's events, then the events of step k
 * that have a reached event of step k-1 of the same user before them (`ord` smaller), within
 * `withinDurationFromPriorStep` (inclusive, on event time) and, for `isDirectlyFollowedBy`, right
 * before them (`ord` one less): so a user is counted at step k only if a whole chain exists.
 * Window functions and equality joins only (no correlated subquery). Only a step with a duration
 * limit sorts (its candidates with the prior step's reached events); a step without one is an
 * equality join on each user's first reached prior event (any reached event before it means the
 * first one is), and a directly-followed step an equality join on `ord - 1`.
 * Open funnel: every event of step k reaches it (users may enter at any step) and `c<k>`, built
 * the same way from `r<k-1>`, says who went on from step k-1 to step k.
 * `uu`: one row per (step, date range, user) with, from the event that first reached the step (its
 * smallest `ord`, grouped and joined back), its breakdown value, day and next action, and whether
 * the user went on to the next step.
 * The statement answers grouped rows tagged by `part` (see FunnelPart); the shaping is in
 * funnel-report.ts.
 */
export type FunnelPart = 'total' | 'breakdown' | 'vis' | 'next';

export function compileFunnel(req: FunnelRequest, scope: TenantScope, d: SqlDialect): CompiledQuery {
  const p = new Params(d);
  const tenant = p.add(scope.tenantId, 'text');
  const property = p.add(scope.propertyId, 'text');
  const dr = req.dateRanges
    .map((r, i) => `SELECT ${i} AS idx, ${p.add(r.startDate, 'date')} AS start_date, ${p.add(r.endDate, 'date')} AS end_date`)
    .join(' UNION ALL ');
  const { from, to } = dateHull(req.dateRanges, p);

  let needsSession = false;
  const dimension = (name: string): string => {
    const def = findDimension(name)!;
    needsSession ||= def.eventNeedsSession ?? false;
    return rowLevel(fromDef(def, d), 'event');
  };
  const conditions = req.steps.map((st) => stepCondition(st.filter, dimension, p, d));
  const stepSql = conditions.map((c, k) => `CASE WHEN ${c} THEN 1 ELSE 0 END AS s${k}`);
  const where = [
    `e.tenant_id = ${tenant}`,
    `e.property_id = ${property}`,
    `e.local_date BETWEEN ${from} AND ${to}`,
    'e.is_bot IS NOT TRUE',
    ...(req.dimensionFilter ? [compileFilter(req.dimensionFilter, dimension, false, p, d)] : []),
  ];
  // only step events matter to the order unless a step must directly follow or next actions are asked
  const everyEvent = req.nextAction !== undefined || req.steps.some((st, k) => k > 0 && st.directlyFollowed);
  if (!everyEvent) where.push(`(${conditions.join(' OR ')})`);
  const nullText = d.toText('NULL');
  const breakdown = req.breakdown ? dimension(req.breakdown.dimension) : nullText;
  const next = req.nextAction ? dimension(req.nextAction.dimension) : nullText;

  const ctes = [`dr AS (${dr})`, identityCte(tenant, property)];
  const order = `PARTITION BY dr.idx, ${USER_KEY} ORDER BY e.event_ms, e.session_key, e.seq_in_session, e.event_id`;
  // Which steps' reached events are "every event of the step after a per-user threshold": step 1
  // and every step of an open funnel (no threshold), and a closed funnel's step without a duration
  // or direct follow (after the user's first reached event of the step before).
  const thresholded = req.steps.map((st, k) => k === 0 || req.isOpenFunnel || (!st.directlyFollowed && st.withinMs === undefined));
  // A duration step after such a step reads, per event, how many events of the step before came
  // earlier and the time of the latest one, from the same window (one sort) as `ord`.
  const byCount = req.steps.map((st, k) => k > 0 && !st.directlyFollowed && st.withinMs !== undefined && thresholded[k - 1]);
  const before = 'ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING';
  const priorCols = byCount.flatMap((yes, k) =>
    yes
      ? [
          `COALESCE(SUM(CASE WHEN ${conditions[k - 1]} THEN 1 ELSE 0 END) OVER (${order} ${before}), 0) AS n${k - 1}`,
          `MAX(CASE WHEN ${conditions[k - 1]} THEN e.event_ms END) OVER (${order} ${before}) AS lt${k - 1}`,
        ]
      : [],
  );
  ctes.push(
    `ev AS (SELECT dr.idx AS dr_idx, ${USER_KEY} AS uk, e.event_ms AS ts, ROW_NUMBER() OVER (${order}) AS ord, ` +
      `${d.formatDate('e.local_date', 'YYYYMMDD')} AS day, ${breakdown} AS bd, LEAD(${next}) OVER (${order}) AS next, ${[...stepSql, ...priorCols].join(', ')} ` +
      `FROM events e JOIN dr ON e.local_date BETWEEN dr.start_date AND dr.end_date` +
      (needsSession ? ` LEFT JOIN sessions s ON s.tenant_id = ${tenant} AND s.property_id = ${property} AND s.session_key = e.session_key` : '') +
      ` LEFT JOIN idm ON idm.client_id = e.client_id WHERE ${where.join(' AND ')})`,
  );
  const cols = 'e.dr_idx, e.uk, e.ord, e.ts, e.bd, e.day, e.next';
  // the events of step k reached from `prior` (step k-1's reached events): right after one of them
  // (an equality join), or after any of them: the latest one before it is the nearest in time (event
  // time grows with `ord`), so a duration limit holds for some chain iff it holds for that one
  const follows = (k: number, prior: string) => {
    const s = req.steps[k];
    const within = s.withinMs === undefined ? null : p.add(s.withinMs, 'bigint');
    // no duration and not directly: after any reached event is after the user's first one, so an
    // equality join on one row per user (no sort of the prior and step events together)
    if (!s.directlyFollowed && within === null) {
      return (
        `SELECT ${cols} FROM ev e JOIN (SELECT dr_idx, uk, MIN(ord) AS o FROM ${prior} GROUP BY dr_idx, uk) t ` +
        `ON t.dr_idx = e.dr_idx AND t.uk = e.uk WHERE e.s${k} = 1 AND e.ord > t.o`
      );
    }
    if (byCount[k]) {
      // a step-(k-1) event after the threshold came before this one (more of them than up to the
      // threshold's event), and the latest of them is within the duration
      const j = k - 1;
      const after =
        j === 0 || req.isOpenFunnel
          ? { join: '', cond: `e.n${j} > 0` }
          : {
              join:
                ` JOIN (SELECT t.dr_idx, t.uk, x.n${j} + x.s${j} AS upto FROM (SELECT dr_idx, uk, MIN(ord) AS o FROM r${j - 1} GROUP BY dr_idx, uk) t ` +
                `JOIN ev x ON x.dr_idx = t.dr_idx AND x.uk = t.uk AND x.ord = t.o) t ON t.dr_idx = e.dr_idx AND t.uk = e.uk`,
              cond: `e.n${j} > t.upto`,
            };
      return `SELECT ${cols} FROM ev e${after.join} WHERE e.s${k} = 1 AND ${after.cond} AND e.ts - e.lt${j} <= ${within}`;
    }
    if (s.directlyFollowed) {
      return (
        `SELECT ${cols} FROM ev e JOIN ${prior} p ON p.dr_idx = e.dr_idx AND p.uk = e.uk AND p.ord = e.ord - 1 ` +
        `WHERE e.s${k} = 1${within ? ` AND e.ts - p.ts <= ${within}` : ''}`
      );
    }
    const latest =
      'MAX(CASE WHEN x.is_prior = 1 THEN x.ts END) OVER (PARTITION BY x.dr_idx, x.uk ORDER BY x.ord, x.is_prior ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)';
    const fields = 'dr_idx, uk, ord, ts, bd, day, next';
    const both = `SELECT ${fields}, 1 AS is_prior FROM ${prior} UNION ALL SELECT ${fields}, 0 AS is_prior FROM ev WHERE s${k} = 1`;
    return (
      `SELECT y.dr_idx, y.uk, y.ord, y.ts, y.bd, y.day, y.next FROM (SELECT x.*, ${latest} AS prior_ts FROM (${both}) x) y ` +
      `WHERE y.is_prior = 0 AND y.prior_ts IS NOT NULL${within ? ` AND y.ts - y.prior_ts <= ${within}` : ''}`
    );
  };
  req.steps.forEach((_, k) => {
    if (k === 0 || req.isOpenFunnel) ctes.push(`r${k} AS (SELECT ${cols} FROM ev e WHERE e.s${k} = 1)`);
    else ctes.push(`r${k} AS (${follows(k, `r${k - 1}`)})`);
    // who went on from step k-1: in a closed funnel, whoever reached step k
    if (k > 0) ctes.push(`c${k} AS (${req.isOpenFunnel ? follows(k, `r${k - 1}`) : `SELECT ${cols} FROM r${k} e`})`);
  });
  const n = req.steps.length;
  // per step, each user's first event that reached it: its breakdown value, day and next action
  // (the first `ord` per user, joined back: a grouping and an equality join, not a sort)
  const first = (k: number) =>
    `SELECT ${k} AS step, r.dr_idx, r.uk, r.bd, r.day, r.next FROM r${k} r ` +
    `JOIN (SELECT dr_idx, uk, MIN(ord) AS o FROM r${k} GROUP BY dr_idx, uk) f ON f.dr_idx = r.dr_idx AND f.uk = r.uk AND f.o = r.ord`;
  ctes.push(`u AS (${req.steps.map((_, k) => first(k)).join(' UNION ALL ')})`);
  ctes.push(
    n > 1
      ? `went AS (${req.steps
          .slice(1)
          .map((_, i) => `SELECT DISTINCT ${i} AS step, dr_idx, uk FROM c${i + 1}`)
          .join(' UNION ALL ')})`
      : `went AS (SELECT 0 AS step, dr_idx, uk FROM u WHERE 1 = 0)`,
  );
  ctes.push(
    `uu AS (SELECT u.step, u.dr_idx, u.uk, u.bd, u.day, u.next, CASE WHEN w.uk IS NULL THEN 0 ELSE 1 END AS went_on FROM u ` +
      `LEFT JOIN went w ON w.step = u.step AND w.dr_idx = u.dr_idx AND w.uk = u.uk)`,
  );

  const part = (tag: FunnelPart, a: string | null, b: string | null, filter = '') =>
    `SELECT '${tag}' AS part, step, dr_idx, ${a ?? nullText} AS a, ${b ?? nullText} AS b, COUNT(*) AS users, SUM(went_on) AS went_on ` +
    `FROM uu${filter} GROUP BY ${['step', 'dr_idx', ...(a ? [a] : []), ...(b ? [b] : [])].join(', ')}`;
  const day = req.trended ? 'day' : null;
  const parts = [part('total', null, null)];
  if (req.breakdown) parts.push(part('breakdown', 'bd', null));
  if (day) parts.push(part('vis', day, null));
  if (req.nextAction) parts.push(part('next', day, 'next', ' WHERE next IS NOT NULL'));
  return { sql: `WITH ${ctes.join(',\n')}\n${parts.join('\nUNION ALL ')}`, params: p.values };
}

function stepCondition(e: StepExpr, dimension: (name: string) => string, p: Params, d: SqlDialect): string {
  switch (e.kind) {
    case 'and':
    case 'or':
      return `(${e.expressions.map((x) => stepCondition(x, dimension, p, d)).join(e.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT ${stepCondition(e.expression, dimension, p, d)})`;
    case 'field':
      return `COALESCE(${compileLeaf(e.filter, dimension(e.filter.fieldName), false, p, d)}, FALSE)`;
    default: {
      const name = `(e.event_name = ${p.add(e.eventName, 'text')})`;
      if (!e.params) return name;
      const param = (key: string) => d.jsonField('e.params', p.add(key, 'text'));
      return `(${name} AND ${compileFilter(e.params, param, false, p, d)})`;
    }
  }
}
