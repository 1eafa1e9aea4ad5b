import { count } from '../domain/rollups.js';
import { NOT_SET } from './catalog-dimensions.js';
import { metric, safeDiv } from './catalog-metrics.js';
import type { AtomDef, DimensionDef, MetricDef } from './catalog.types.js';
import { jsonText, type SqlDialect } from './sql-dialect.js';

/**
 * GA4 e-commerce (issue 14): item-scoped dimensions over the `items` table (`i`) and the revenue
 * and item metrics. Money is converted to the report's currency (the request's `currencyCode`,
 * else the property's) at the rate of the event's local date (`fx_rates`, src/query/README.md):
 * amount × rate(target) / rate(source), both per euro. An amount in the target currency, or
 * without a currency, is taken as it is; one in a currency without a rate that day counts nothing.
 *
 * Money is summed exactly: each event's converted amount is rounded to integer **micros** (GA4
 * keeps currency in micros) and the atoms are integer sums of micros (BIGINT, DuckDB's HUGEINT,
 * PostgreSQL's and Redshift's NUMERIC sums), so 0.1 + 0.2 is 0.3 on every warehouse. Only the
 * metric divides by 1,000,000, once, which gives the double nearest the exact decimal (written
 * shortest: "2625.79", not "2625.7899999999995").
 */

/** Events whose `value` is purchase revenue (GA4: purchases in the app or on the site). */
const PURCHASE_EVENTS = ['purchase', 'ecommerce_purchase', 'in_app_purchase'];
/** GA4's transaction events: "in_app_purchase, ecommerce_purchase, purchase, app_store_subscription_renew, app_store_subscription_convert, and refund". */
const TRANSACTION_EVENTS = [...PURCHASE_EVENTS, 'app_store_subscription_renew', 'app_store_subscription_convert', 'refund'];
const inList = (col: string, names: readonly string[]) => `${col} IN (${names.map((n) => `'${n}'`).join(', ')})`;

/** An amount converted to the report's currency; `currency` is the row's currency code expression. */
export function converted(amount: string, currency: string): string {
  return `(CASE WHEN ${currency} IS NULL OR ${currency} = tgt.code THEN ${amount} ELSE ${amount} * fxt.per_eur / fxs.per_eur END)`;
}

export const MICROS = 1_000_000;
/**
 * An amount as whole micros of the currency, per event or item row, rounded half up with FLOOR
 * (PostgreSQL's ROUND of a double breaks ties to even, DuckDB's away from zero: FLOOR is the same on all).
 */
const micros = (amount: string) => `CAST(FLOOR((${amount}) * ${MICROS} + 0.5) AS BIGINT)`;
/** A sum of micros back in currency units, as a double (exact for sums below 2^53 micros). */
export const fromMicros = (d: SqlDialect, sumOfMicros: string) => `(${d.toDouble(sumOfMicros)} / ${MICROS})`;

const eventCurrency = (d: SqlDialect) => `UPPER(${jsonText(d, 'e.params', 'currency')})`;
const eventValue = (d: SqlDialect) => d.toNumber(jsonText(d, 'e.params', 'value'));
const itemCurrency = () => 'i.currency';
const itemAmount = 'i.price * i.quantity';

function itemDim(apiName: string, uiName: string, column: string, description: string): DimensionDef {
  const sql = () => `COALESCE(i.${column}, ${NOT_SET})`;
  return { apiName, uiName, description, category: 'E-commerce', scope: 'item', onEvent: sql, item: true };
}

export const ECOMMERCE_DIMENSIONS: readonly DimensionDef[] = [
  itemDim('itemId', 'Item ID', 'item_id', 'The ID of the item.'),
  itemDim('itemName', 'Item name', 'item_name', 'The name of the item.'),
  itemDim('itemBrand', 'Item brand', 'item_brand', 'Brand name of the item.'),
  itemDim('itemCategory', 'Item category', 'item_category', 'The hierarchical category in which the item is classified.'),
  itemDim('itemCategory2', 'Item category 2', 'item_category2', 'The hierarchical category in which the item is classified (second level).'),
  itemDim('itemCategory3', 'Item category 3', 'item_category3', 'The hierarchical category in which the item is classified (third level).'),
  itemDim('itemCategory4', 'Item category 4', 'item_category4', 'The hierarchical category in which the item is classified (fourth level).'),
  itemDim('itemCategory5', 'Item category 5', 'item_category5', 'The hierarchical category in which the item is classified (fifth level).'),
  itemDim('itemVariant', 'Item variant', 'item_variant', 'The specific variation of a product.'),
  itemDim('itemListId', 'Item list ID', 'item_list_id', 'The ID of the item list.'),
  itemDim('itemListName', 'Item list name', 'item_list_name', 'The name of the item list.'),
  itemDim('itemPromotionId', 'Item promotion ID', 'promotion_id', 'The ID of the item promotion.'),
  itemDim('itemPromotionName', 'Item promotion name', 'promotion_name', 'The name of the promotion for the item.'),
  itemDim('orderCoupon', 'Order coupon', 'coupon', 'Code for the order-level coupon.'),
];

const sumWhen = (cond: string, x: string) => `COALESCE(SUM(CASE WHEN ${cond} THEN ${x} END), 0)`;

export const ECOMMERCE_ATOMS: readonly AtomDef[] = [
  {
    name: 'ev_purchase_revenue',
    group: 'event',
    type: 'bigint',
    sql: (d) =>
      `COALESCE(SUM(CASE WHEN ${inList('e.event_name', PURCHASE_EVENTS)} THEN ${micros(converted(eventValue(d), eventCurrency(d)))} ` +
      `WHEN e.event_name = 'refund' THEN -${micros(converted(eventValue(d), eventCurrency(d)))} END), 0)`,
    needsFx: { currency: eventCurrency },
  },
  {
    name: 'ev_ad_revenue',
    group: 'event',
    type: 'bigint',
    sql: (d) => sumWhen(`e.event_name = 'ad_impression'`, micros(converted(eventValue(d), eventCurrency(d)))),
    needsFx: { currency: eventCurrency },
  },
  {
    name: 'ev_transactions',
    group: 'event',
    type: 'bigint',
    sql: (d) => count(`${inList('e.event_name', TRANSACTION_EVENTS)} AND ${eventValue(d)} IS NOT NULL`),
  },
  { name: 'ev_ecommerce_purchases', group: 'event', type: 'bigint', sql: () => count(`e.event_name = 'purchase'`) },
  { name: 'it_viewed', group: 'item', type: 'bigint', sql: () => sumWhen(`i.event_name = 'view_item'`, 'i.quantity') },
  { name: 'it_added', group: 'item', type: 'bigint', sql: () => sumWhen(`i.event_name = 'add_to_cart'`, 'i.quantity') },
  { name: 'it_purchased', group: 'item', type: 'bigint', sql: () => sumWhen(`i.event_name = 'purchase'`, 'i.quantity') },
  {
    name: 'it_revenue',
    group: 'item',
    type: 'bigint',
    sql: () =>
      `COALESCE(SUM(CASE WHEN i.event_name = 'purchase' THEN ${micros(converted(itemAmount, itemCurrency()))} ` +
      `WHEN i.event_name = 'refund' THEN -${micros(converted(itemAmount, itemCurrency()))} END), 0)`,
    needsFx: { currency: itemCurrency },
  },
];

export const ECOMMERCE_METRICS: readonly MetricDef[] = [
  metric(
    'purchaseRevenue',
    'Purchase revenue',
    'E-commerce',
    'TYPE_CURRENCY',
    'event',
    ['ev_purchase_revenue'],
    (a, d) => fromMicros(d, a('ev_purchase_revenue')),
    'The sum of revenue from purchases minus refunded transaction revenue made in your app or site.',
  ),
  metric(
    'totalRevenue',
    'Total revenue',
    'E-commerce',
    'TYPE_CURRENCY',
    'event',
    ['ev_purchase_revenue', 'ev_ad_revenue'],
    (a, d) => fromMicros(d, `(${a('ev_purchase_revenue')} + ${a('ev_ad_revenue')})`),
    'The sum of revenue from purchases and advertising (ad_impression values), minus refunded transaction revenue.',
  ),
  metric(
    'transactions',
    'Transactions',
    'E-commerce',
    'TYPE_INTEGER',
    'event',
    ['ev_transactions'],
    (a) => a('ev_transactions'),
    'The count of transaction events with purchase revenue (purchase, in_app_purchase, ecommerce_purchase, subscription renewals and conversions, refund).',
  ),
  metric(
    'averagePurchaseRevenue',
    'Average purchase revenue',
    'E-commerce',
    'TYPE_CURRENCY',
    'event',
    ['ev_purchase_revenue', 'ev_transactions'],
    (a, d) => `(${safeDiv(d, a('ev_purchase_revenue'), a('ev_transactions'))} / ${MICROS})`,
    'The average purchase revenue in the transaction group of events.',
    { expression: 'purchaseRevenue/transactions' },
  ),
  metric(
    'ecommercePurchases',
    'E-commerce purchases',
    'E-commerce',
    'TYPE_INTEGER',
    'event',
    ['ev_ecommerce_purchases'],
    (a) => a('ev_ecommerce_purchases'),
    'The number of times users completed a purchase (purchase events; not in_app_purchase or subscription events).',
  ),
  metric(
    'itemsViewed',
    'Items viewed',
    'E-commerce',
    'TYPE_INTEGER',
    'item',
    ['it_viewed'],
    (a) => a('it_viewed'),
    'The number of units viewed for the item (view_item).',
  ),
  metric(
    'itemsAddedToCart',
    'Items added to cart',
    'E-commerce',
    'TYPE_INTEGER',
    'item',
    ['it_added'],
    (a) => a('it_added'),
    'The number of units added to cart for a single item (add_to_cart).',
  ),
  metric(
    'itemsPurchased',
    'Items purchased',
    'E-commerce',
    'TYPE_INTEGER',
    'item',
    ['it_purchased'],
    (a) => a('it_purchased'),
    'The number of units for a single item included in purchase events.',
  ),
  metric(
    'itemRevenue',
    'Item revenue',
    'E-commerce',
    'TYPE_CURRENCY',
    'item',
    ['it_revenue'],
    (a, d) => fromMicros(d, a('it_revenue')),
    'The total revenue from purchases minus refunded transaction revenue from items only (price × quantity).',
  ),
];
