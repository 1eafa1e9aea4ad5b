import type { TransformDialect } from './transform-dialect.js';

/**
 * The transform's e-commerce statements (issue 14), run after transform.sql.ts's own steps (they
 * read its `facts` and `raw`): the `items` table of GA4 MP and gtag events, on DuckDB and Spark alike.
 */

/** GA4 item parameters kept as columns, by column name (the rest stay in `item_params`). */
const ITEM_TEXT_FIELDS = [
  'item_id',
  'item_name',
  'item_brand',
  'item_category',
  'item_category2',
  'item_category3',
  'item_category4',
  'item_category5',
  'item_variant',
  'item_list_id',
  'item_list_name',
  'promotion_id',
  'promotion_name',
  'coupon',
] as const;

/**
 * `items_out`: one row per element of a kept event's `params.items` (GA4 MP items, gtag `prN`),
 * beside the event's identity, date and session (from `facts`). Item text fields are read as
 * text (a number sent as item_id becomes its text); price and quantity as numbers when they are
 * numbers or numeric text; quantity defaults to 1 as in GA4. An element that is not an object
 * keeps its row (every field null) without `item_params`: the engines spell a bare JSON string
 * differently (DuckDB quoted, Spark not).
 */
export function itemSteps(d: TransformDialect, id: string): { name: string; sql: string; materialize: boolean }[] {
  const field = (k: string) => d.jsonString('x.item', k);
  return [
    {
      name: 'item_rows',
      materialize: true,
      sql: `
      SELECT f.rid, ${d.explodeJsonArray('r.params', 'items')}
      FROM facts f JOIN raw r ON r.${id} = f.rid
      WHERE r.params LIKE '%"items"%'`,
    },
    {
      name: 'items_out',
      materialize: false,
      sql: `
      SELECT e.tenant_id, e.property_id, e.event_id, e.name AS event_name, f.event_ms, f.local_date, f.session_key,
        e.client_id, f.user_id, f.is_bot, x.item_index,
        ${ITEM_TEXT_FIELDS.map((k) => `${field(k)} AS ${k}`).join(',\n        ')},
        TRY_CAST(${field('price')} AS DOUBLE) AS price,
        coalesce(${d.truncToBigint(`TRY_CAST(${field('quantity')} AS DOUBLE)`)}, CAST(1 AS BIGINT)) AS quantity,
        upper(coalesce(${field('currency')}, ${d.jsonString('e.params', 'currency')})) AS currency,
        CASE WHEN x.item LIKE '{%' THEN x.item END AS item_params
      FROM item_rows x
      JOIN facts f ON f.rid = x.rid
      JOIN raw e ON e.${id} = x.rid
      WHERE x.item IS NOT NULL`,
    },
  ];
}
