import type { TransformDialect } from './transform-dialect.js';

/**
 * GA4's last non-direct click for the session-scoped traffic fields (issue 14), part of the one
 * transform definition (transform.sql.ts runs these steps after `sess_attr`): a direct session
 * takes the traffic source of the same user's most recent non-direct session that started within
 * the lookback (90 days) before it; any other session keeps its own. The user is the session's
 * client key (`coalesce(client_id, user_id)`, what sessions are keyed by). Touches before the run's
 * window come from the table `prior_touch` the engine provides (`TOUCH_FIELDS`; from earlier days'
 * transformed sessions, or a cycle's carried state): at most one row per (tenant, property, user).
 */

const DAY_MS = 86_400_000;
export const LOOKBACK_DAYS = 90;
export const LOOKBACK_MS = LOOKBACK_DAYS * DAY_MS;

/** The touch columns, of `prior_touch` and of the carried state: a user's latest non-direct session. */
export const TOUCH_FIELDS: ReadonlyArray<readonly [string, 'STRING' | 'BIGINT']> = [
  ['tenant_id', 'STRING'],
  ['property_id', 'STRING'],
  ['user_key', 'STRING'],
  ['touch_ms', 'BIGINT'],
  ['source', 'STRING'],
  ['medium', 'STRING'],
  ['campaign', 'STRING'],
  ['term', 'STRING'],
  ['content', 'STRING'],
  ['channel_group', 'STRING'],
];

/** The traffic columns a session's attribution copies. */
export const TRAFFIC_COLUMNS = ['source', 'medium', 'campaign', 'term', 'content', 'channel_group'] as const;

/** GA4's Direct: source `(direct)` and medium `(none)` or `(not set)` (channel rule 1); no source at all counts as direct. */
export const isDirectSql = (source: string, medium: string): string =>
  `(lower(coalesce(${source}, '(direct)')) = '(direct)' AND lower(coalesce(${medium}, '(none)')) IN ('(none)', '(not set)'))`;

/**
 * `sess_touch` (each session's own source, user key and start), `touch_line` (per user, the
 * sessions of the window and the prior touch of users with a direct session, numbered in time
 * order, ties by session key; a prior touch sorts first) and `sess_lnd` (the attributed source
 * of every session, by its first event's row id).
 */
export function lastNonDirectSteps(
  d: TransformDialect,
  id: string,
  same: (a: string, b: string) => string,
): { name: string; sql: string; materialize: boolean }[] {
  const cols = (alias: string) => TRAFFIC_COLUMNS.map((c) => `${alias}.${c}`).join(', ');
  return [
    {
      name: 'sess_touch',
      materialize: true,
      sql: `
      SELECT s.tenant_id, s.property_id, s.session_key, s.first_rid, s.session_start_ms,
        coalesce(r.client_id, r.user_id) AS user_key, ${cols('a')}, ${isDirectSql('a.source', 'a.medium')} AS is_direct
      FROM sess s JOIN raw r ON r.${id} = s.rid JOIN sess_attr a ON a.first_rid = s.first_rid
      WHERE s.seq_in_session = 1`,
    },
    {
      name: 'touch_line',
      materialize: true,
      sql: `
      WITH line AS (
        SELECT tenant_id, property_id, user_key, session_start_ms AS at_ms, session_key AS tie, first_rid, NOT is_direct AS is_touch, ${cols('s')}
        FROM sess_touch s WHERE user_key IS NOT NULL
        UNION ALL
        SELECT t.tenant_id, t.property_id, t.user_key, t.touch_ms, '', CAST(NULL AS BIGINT), true, ${cols('t')}
        FROM prior_touch t
        WHERE EXISTS (SELECT 1 FROM sess_touch s WHERE ${same('s', 't')} AND s.user_key = t.user_key AND s.is_direct)
      ),
      numbered AS (
        SELECT line.*, row_number() OVER (PARTITION BY tenant_id, property_id, user_key ORDER BY at_ms, tie) AS n FROM line
      )
      SELECT numbered.*,
        max(CASE WHEN is_touch THEN n END) OVER (PARTITION BY tenant_id, property_id, user_key ORDER BY n
          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS touch_n
      FROM numbered`,
    },
    {
      name: 'sess_lnd',
      materialize: true,
      sql: `
      SELECT s.first_rid,
        ${TRAFFIC_COLUMNS.map((c) => `CASE WHEN t.n IS NULL THEN s.${c} ELSE t.${c} END AS ${c}`).join(',\n        ')}
      FROM sess_touch s
      LEFT JOIN touch_line x ON x.first_rid = s.first_rid AND NOT x.is_touch
      LEFT JOIN touch_line t ON ${same('t', 'x')} AND t.user_key = x.user_key AND t.n = x.touch_n
        AND t.at_ms >= x.at_ms - ${LOOKBACK_MS}`,
    },
  ];
}
