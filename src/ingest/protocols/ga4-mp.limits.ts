/**
 * GA4 Measurement Protocol limits and reserved names, as data (PROTOCOLS.md §1 "Limits",
 * "Reserved names"). The parser reads them; the HTTP edge reads `maxBodyBytes`.
 */
export const GA4_MP_LIMITS = {
  /** "The POST body must be smaller than 130 kB"; checked by the HTTP edge, not the parser. */
  maxBodyBytes: 130 * 1024,
  maxEventsPerRequest: 25,
  maxParamsPerEvent: 25,
  maxUserProperties: 25,
  maxEventNameLength: 40,
  maxParamNameLength: 40,
  /** GA4 standard; GA4 360 allows 500. */
  maxParamValueLength: 100,
  maxUserPropertyNameLength: 24,
  maxUserPropertyValueLength: 36,
  maxUserIdLength: 256,
  maxCustomItemParams: 10,
  maxPastMs: 72 * 3_600_000,
  /** Not a GA limit: bounds recursion over unknown nested fields of hostile bodies. */
  maxNestingDepth: 32,
  /** Not a GA limit: bounds the debug response for hostile bodies. */
  maxValidationMessages: 100,
} as const;

/** GA web collection limits that replace the 100-character rule for these params. */
export const PARAM_VALUE_LENGTH_OVERRIDES: Readonly<Record<string, number>> = {
  page_location: 1000,
  page_referrer: 420,
  page_title: 300,
};

/** GTM built-ins exempt from the value length limit. */
export const PARAM_VALUE_LENGTH_EXEMPT: ReadonlySet<string> = new Set(['session_id', 'session_number']);

/** `[A-Za-z][A-Za-z0-9_]*` for event, param, item param and user property names. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set([
  'ad_activeview',
  'ad_click',
  'ad_exposure',
  'ad_query',
  'ad_reward',
  'adunit_exposure',
  'app_clear_data',
  'app_exception',
  'app_install',
  'app_remove',
  'app_store_refund',
  'app_update',
  'app_upgrade',
  'dynamic_link_app_open',
  'dynamic_link_app_update',
  'dynamic_link_first_open',
  'error',
  'firebase_campaign',
  'firebase_in_app_message_action',
  'firebase_in_app_message_dismiss',
  'firebase_in_app_message_impression',
  'first_open',
  'first_visit',
  'notification_dismiss',
  'notification_foreground',
  'notification_open',
  'notification_receive',
  'notification_send',
  'os_update',
  'session_start',
  'user_engagement',
]);

/** Reserved only for app streams (requests identified by `app_instance_id`). */
export const RESERVED_APP_EVENT_NAMES: ReadonlySet<string> = new Set(['ad_impression', 'in_app_purchase', 'screen_view']);

export const RESERVED_PARAM_NAMES: ReadonlySet<string> = new Set(['firebase_conversion']);
export const RESERVED_PARAM_PREFIXES: readonly string[] = ['_', 'firebase_', 'ga_', 'google_', 'gtag.'];

export const RESERVED_USER_PROPERTY_NAMES: ReadonlySet<string> = new Set([
  'first_open_time',
  'first_visit_time',
  'last_deep_link_referrer',
  'user_id',
  'first_open_after_install',
]);
export const RESERVED_USER_PROPERTY_PREFIXES: readonly string[] = ['_', 'firebase_', 'ga_', 'google_'];

/** Item params GA defines; every other key of an item counts against `maxCustomItemParams`. */
export const STANDARD_ITEM_PARAMS: ReadonlySet<string> = new Set([
  'item_id',
  'item_name',
  'affiliation',
  'coupon',
  'currency',
  'discount',
  'index',
  'item_brand',
  'item_category',
  'item_category2',
  'item_category3',
  'item_category4',
  'item_category5',
  'item_list_id',
  'item_list_name',
  'item_variant',
  'location_id',
  'price',
  'quantity',
  'creative_name',
  'creative_slot',
  'promotion_id',
  'promotion_name',
]);
