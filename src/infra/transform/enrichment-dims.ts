import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import campaignParams from '../../domain/enrichment/data/campaign-params.json' with { type: 'json' };
import { botVerdict } from '../../domain/enrichment/bot.js';
import { compileChannelGroup, defaultChannelGroup, type ChannelGrouper } from '../../domain/enrichment/channel-group.js';
import { attributeTraffic } from '../../domain/enrichment/traffic-source.js';
import { customBotMatcher } from '../../domain/rules/bot-patterns.js';
import { internalExclusion } from '../../domain/rules/internal-traffic.js';
import { parsePageUrl } from '../../domain/enrichment/url.js';
import { parseUserAgent } from '../../domain/enrichment/user-agent.js';
import { sqlString, type PropertyParams, type PropertyRuleSettings } from './transform.sql.js';

/**
 * Enrichment shared as data: an engine that cannot run the JS enrichment (Spark) writes the
 * distinct keys it needs as Parquet; these functions turn them into lookup tables with the same
 * functions the DuckDB engine calls, written as Parquet for the engine to join.
 */

/** Every event param attributeTraffic reads, in the order of the engines' `attr_params` JSON array. */
export const ATTRIBUTION_PARAMS: readonly string[] = [
  ...new Set([...Object.values(campaignParams.eventParams).flat(), ...campaignParams.googleAdsClickIds]),
].sort();

type Cell = string | boolean | null;

/**
 * A property's retroactive rules, compiled once per run: its own bot patterns, channel group and
 * internal-traffic exclusion. They reach both engines as data: the dims are computed here, in JS,
 * for DuckDB and for Spark alike (no rule is spelled in SQL, so no regex dialect can differ).
 */
export interface EnrichmentRules {
  customBot: ((ua: string) => boolean) | null;
  channelGroup: ChannelGrouper;
  /** Null: no internal-traffic exclusion (no rule, or the filter inactive); the transform then has no `traffic` step. */
  internal: ((ipTrunc: string | null, stamped: string | null) => boolean) | null;
}

export function enrichmentRules(settings: PropertyRuleSettings): EnrichmentRules {
  return {
    customBot: customBotMatcher(settings.botPatterns),
    channelGroup: settings.channelRules ? compileChannelGroup(settings.channelRules) : defaultChannelGroup,
    internal: internalExclusion(settings.internalTraffic),
  };
}

/** Each rules id of a run's properties ('' the defaults) with its compiled rules. */
export function rulesById(properties: readonly Pick<PropertyParams, 'rulesId' | 'rules'>[]): RulesById {
  const out = new Map<string, EnrichmentRules>([['', NO_RULES]]);
  for (const p of properties) if (p.rulesId !== '' && !out.has(p.rulesId)) out.set(p.rulesId, enrichmentRules(p.rules));
  return out;
}
export type RulesById = ReadonlyMap<string, EnrichmentRules>;

export const NO_RULES: EnrichmentRules = Object.freeze({ customBot: null, channelGroup: defaultChannelGroup, internal: null });

interface Dim {
  name: 'ua' | 'url' | 'attr' | 'traffic';
  /** The key columns, in the order of the enrich step's SELECT. */
  keys: string;
  columns: readonly (readonly [string, 'VARCHAR' | 'BOOLEAN'])[];
  /** `key` starts with the rules id where the dim depends on the property's rules (`ua`, `attr`, `traffic`). */
  rows: (key: (string | null)[], rules: EnrichmentRules) => Cell[];
}

/** The rules a key is computed under: its first column names them, for the dims keyed by rules. */
function rulesOf(dim: Dim, key: (string | null)[], rules: RulesById): EnrichmentRules {
  if (!dim.keys.startsWith('rules_id')) return NO_RULES;
  const r = rules.get(key[0] ?? '');
  if (r === undefined) throw new Error(`enrichment: no rules ${key[0]} in this run`);
  return r;
}

const DIMS: readonly Dim[] = [
  {
    name: 'ua',
    keys: 'rules_id, ua, ua_source',
    columns: [
      ['rules_id', 'VARCHAR'],
      ['ua', 'VARCHAR'],
      ['ua_source', 'VARCHAR'],
      ['browser', 'VARCHAR'],
      ['browser_version', 'VARCHAR'],
      ['os', 'VARCHAR'],
      ['os_version', 'VARCHAR'],
      ['device_category', 'VARCHAR'],
      ['is_bot', 'BOOLEAN'],
      ['bot_reason', 'VARCHAR'],
    ],
    rows: ([rulesId, ua, source], rules) => {
      const p = parseUserAgent(ua);
      const bot = botVerdict(ua, (source ?? 'none') as 'payload' | 'request' | 'none', rules.customBot);
      return [rulesId, ua, source, p.browser, p.browserVersion, p.os, p.osVersion, p.deviceCategory, bot.isBot, bot.reason];
    },
  },
  {
    name: 'url',
    keys: 'url',
    columns: [
      ['url', 'VARCHAR'],
      ['host_name', 'VARCHAR'],
      ['page_path', 'VARCHAR'],
      ['page_query', 'VARCHAR'],
      ['utm_source', 'VARCHAR'],
      ['utm_medium', 'VARCHAR'],
      ['utm_campaign', 'VARCHAR'],
      ['utm_term', 'VARCHAR'],
      ['utm_content', 'VARCHAR'],
    ],
    rows: ([url]) => {
      const parts = parsePageUrl(url);
      const q = queryParams(parts.query);
      return [
        url,
        parts.host,
        parts.path,
        parts.query,
        q.get('utm_source') ?? null,
        q.get('utm_medium') ?? null,
        q.get('utm_campaign') ?? null,
        q.get('utm_term') ?? null,
        q.get('utm_content') ?? null,
      ];
    },
  },
  {
    name: 'attr',
    keys: 'rules_id, url, referrer, attr_params',
    columns: [
      ['rules_id', 'VARCHAR'],
      ['url', 'VARCHAR'],
      ['referrer', 'VARCHAR'],
      ['attr_params', 'VARCHAR'],
      ['source', 'VARCHAR'],
      ['medium', 'VARCHAR'],
      ['campaign', 'VARCHAR'],
      ['term', 'VARCHAR'],
      ['content', 'VARCHAR'],
      ['channel_group', 'VARCHAR'],
    ],
    rows: ([rulesId, url, referrer, attrParams], rules) => {
      const values = (attrParams === null ? [] : JSON.parse(attrParams)) as unknown[];
      const params: Record<string, unknown> = {};
      ATTRIBUTION_PARAMS.forEach((k, i) => {
        if (values[i] !== null && values[i] !== undefined) params[k] = values[i];
      });
      const t = attributeTraffic({ pageUrl: url, referrer, params }, rules.channelGroup);
      return [rulesId, url, referrer, attrParams, t.source, t.medium, t.campaign, t.term, t.content, t.channelGroup];
    },
  },
  {
    // internal traffic (only when the property excludes some: see transform.sql.ts)
    name: 'traffic',
    keys: 'rules_id, ip_trunc, traffic_type',
    columns: [
      ['rules_id', 'VARCHAR'],
      ['ip_trunc', 'VARCHAR'],
      ['traffic_type', 'VARCHAR'],
      ['excluded', 'BOOLEAN'],
    ],
    rows: ([rulesId, ipTrunc, stamped], rules) => [rulesId, ipTrunc, stamped, rules.internal?.(ipTrunc, stamped) ?? false],
  },
];

/**
 * The lookup rows of one dim for its distinct keys: the DuckDB engine appends them to its
 * `<name>_dim` tables; writeEnrichmentDims writes them as Parquet for Spark.
 */
export function enrichmentRows(name: Dim['name'], keys: readonly (string | null)[][], rules: RulesById): Cell[][] {
  const dim = DIMS.find((d) => d.name === name)!;
  return keys.map((k) => dim.rows(k, rulesOf(dim, k, rules)));
}

export type DimName = Dim['name'];

/** `CREATE` of the `<name>_dim` lookup table an engine joins. */
export function createDimTable(name: DimName, tableName = `${name}_dim`): string {
  const dim = DIMS.find((d) => d.name === name)!;
  return `CREATE OR REPLACE TEMP TABLE ${tableName} (${dim.columns.map(([n, t]) => `${n} ${t}`).join(', ')})`;
}

/**
 * Reads `keysDir/<name>/*.parquet` (the dim's key columns) and writes `dimsDir/<name>.parquet`
 * with the property's rules. Returns the number of distinct keys.
 */
export async function writeEnrichmentDim(conn: DuckDBConnection, name: DimName, keysDir: string, dimsDir: string, rules: RulesById): Promise<number> {
  const dim = DIMS.find((d) => d.name === name)!;
  const table = `dim_${dim.name}`;
  await conn.run(createDimTable(name, table));
  const dir = join(keysDir, dim.name);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.parquet')) : [];
  let n = 0;
  if (files.length > 0) {
    const reader = await conn.runAndReadAll(`SELECT ${dim.keys} FROM read_parquet(${sqlString(join(dir, '*.parquet'))})`);
    const appender = await conn.createAppender(table, 'main', 'temp');
    try {
      for (const key of reader.getRows()) {
        const k = key.map((v) => (v === null ? null : String(v)));
        for (const v of dim.rows(k, rulesOf(dim, k, rules))) {
          if (v === null) appender.appendNull();
          else if (typeof v === 'boolean') appender.appendBoolean(v);
          else appender.appendVarchar(v);
        }
        appender.endRow();
        n++;
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }
  await conn.run(`COPY ${table} TO ${sqlString(join(dimsDir, `${dim.name}.parquet`))} (FORMAT parquet)`);
  await conn.run(`DROP TABLE ${table}`);
  return n;
}

/** First value per lowercased key, as attributeTraffic reads a page URL's query. */
function queryParams(query: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(query ?? '')) {
    const key = k.toLowerCase();
    if (!out.has(key)) out.set(key, v);
  }
  return out;
}
