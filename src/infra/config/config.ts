import { totalmem } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseProxyTrust, type ProxyTrustSetting } from '../http/proxy-trust.js';
import { FREE_PLAN_ID, isPlanId, PLANS } from '../../domain/plans.js';

/**
 * Configuration is parsed and validated once, at start-up, from environment variables; each
 * module gets only its slice. A bad value stops start-up with a message naming the variable.
 */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']).transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const url = z.string().url();

/** Each slice: its variables, their schema, and how they become the module's config object. */
const schema = {
  core: z.object({
    TALLY_DATA_DIR: z.string().min(1).default('./.tally'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  }),
  http: z.object({
    PORT: port.default(8080),
    TALLY_HEALTH_PORT: port.optional(),
    HOST: z.string().default('0.0.0.0'),
    TALLY_TRUST_PROXY: z
      .string()
      .default('false')
      .transform((v, ctx) => {
        try {
          return parseProxyTrust(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: `false, true, a hop count or a list of proxy CIDRs: ${(e as Error).message}` });
          return z.NEVER;
        }
      }),
  }),
  db: z.object({
    DATABASE_URL: url.optional(),
  }),
  eventLog: z.object({
    TALLY_EVENT_LOG: z.enum(['local', 'kafka']).optional(),
    TALLY_LOG_PARTITIONS: positiveInt.max(1024).default(4),
    TALLY_LOG_SEGMENT_BYTES: positiveInt.default(64 * 1024 * 1024),
    TALLY_LOG_RETENTION_HOURS: positiveInt.default(168),
    KAFKA_BROKERS: z.string().min(1).optional(),
    KAFKA_CLIENT_ID: z.string().default('tally'),
    KAFKA_TOPIC_RAW: z.string().default('tally.raw-events'),
    KAFKA_TOPIC_DEAD_LETTER: z.string().default('tally.dead-letter'),
  }),
  objectStore: z.object({
    S3_BUCKET: z.string().min(1).optional(),
    S3_PREFIX: z.string().default(''),
    S3_REGION: z.string().default('us-east-1'),
    S3_ENDPOINT: url.optional(),
    S3_FORCE_PATH_STYLE: bool.default(false),
  }),
  counters: z.object({
    REDIS_URL: url.optional(),
    TALLY_COUNTERS_PREFIX: z.string().min(1).default('tally:counters'),
    /** Anonymous (browser) events per second from one truncated client IP to one property; bursts of 10x. */
    TALLY_ANONYMOUS_IP_RATE: positiveInt.default(100),
  }),
  archiver: z.object({
    TALLY_ARCHIVE_BATCH_RECORDS: positiveInt.default(20_000),
    TALLY_ARCHIVE_MAX_WAIT_MS: positiveInt.default(1_000),
  }),
  jobs: z.object({
    TALLY_TRANSFORM_INTERVAL_MS: positiveInt.default(30_000),
    TALLY_TRANSFORM_ENGINE: z.enum(['duckdb', 'spark']).default('duckdb'),
    // DuckDB's memory_limit for the transform, e.g. 4GB or 512MB; default a quarter of the machine's memory
    TALLY_TRANSFORM_MEMORY: z
      .string()
      .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 4GB or 512MB')
      .optional(),
    // how far before its receipt an event may lie and still join an open session without a rebuild
    TALLY_TRANSFORM_LATE_ALLOWANCE_MS: z.coerce.number().int().nonnegative().default(600_000),
    SPARK_SUBMIT: z.string().min(1).optional(),
    SPARK_MASTER: z.string().min(1).default('local[*]'),
    SPARK_JARS: z.string().min(1).optional(),
    SPARK_DRIVER_MEMORY: z.string().min(1).optional(),
    REDIS_URL: url.optional(),
    TALLY_QUEUE_PREFIX: z
      .string()
      .min(1)
      .regex(/^[^:]+$/, 'no colon')
      .default('tally'),
  }),
  warehouse: z.object({
    TALLY_WAREHOUSE: z.enum(['duckdb', 'postgres', 'redshift']).default('duckdb'),
    WAREHOUSE_URL: url.optional(),
    REDSHIFT_IAM_ROLE: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'an IAM role ARN')
      .optional(),
  }),
  reports: z.object({
    TALLY_REPORT_TIMEOUT_MS: positiveInt.default(10_000),
    TALLY_REPORT_CONCURRENCY: positiveInt.default(3),
    TALLY_REPORT_TENANT_CONCURRENCY: positiveInt.default(1),
    TALLY_REPORT_TENANT_QUEUE: z.coerce.number().int().min(0).default(10),
    TALLY_REPORT_RATE_PER_MINUTE: positiveInt.default(600),
    TALLY_SQL_MAX_ROWS: positiveInt.default(10_000),
    TALLY_SQL_TIMEOUT_MS: positiveInt.default(10_000),
  }),
  accounts: z.object({
    SMTP_URL: url.optional(),
    TALLY_MAIL_FROM: z.string().min(3).default('Tally <no-reply@tally.localhost>'),
    /** Where links in e-mails point (the console's origin); default http://localhost:PORT. */
    TALLY_PUBLIC_URL: url.optional(),
  }),
  billing: z.object({
    /** Set: Stripe bills organisations (provider `stripe`); unset: provider `none`, everyone on TALLY_DEFAULT_PLAN. */
    STRIPE_SECRET_KEY: z.string().min(1).optional(),
    /** Another Stripe API host (stripe-mock in tests), e.g. http://127.0.0.1:12111. */
    STRIPE_API_BASE: url.optional(),
    STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
    /** The Billing Meter's event name the hourly usage is sent as. */
    STRIPE_METER_EVENT_NAME: z.string().min(1).default('tally_events'),
    TALLY_DEFAULT_PLAN: z
      .string()
      .refine(isPlanId, `one of ${PLANS.map((p) => p.planId).join(', ')}`)
      .default(FREE_PLAN_ID),
    /** Days reports and exports stay open after a failed payment. */
    TALLY_BILLING_GRACE_DAYS: z.coerce.number().min(0).max(90).default(7),
  }),
  demo: z.object({
    TALLY_DEMO: z.enum(['on', 'off']).default('on'),
  }),
};

export interface Config {
  core: { dataDir: string; logLevel: string; env: 'development' | 'production' | 'test' };
  http: {
    port: number;
    host: string;
    trustProxy: ProxyTrustSetting;
    /** A listener with only /healthz, /readyz and /metrics (for roles without an HTTP listener). */
    healthPort: number | undefined;
  };
  db: { url: string | undefined };
  eventLog: {
    kind: 'local' | 'kafka';
    partitions: number;
    segmentBytes: number;
    retentionMs: number;
    kafka: { brokers: string[]; clientId: string; topics: { 'raw-events': string; 'dead-letter': string } } | null;
  };
  objectStore:
    { kind: 'folder'; dir: string } | { kind: 's3'; bucket: string; prefix: string; region: string; endpoint: string | undefined; forcePathStyle: boolean };
  counters: { redisUrl: string | undefined; prefix: string; anonymousIpRate: number };
  archiver: { batchRecords: number; maxWaitMs: number };
  jobs: {
    transformIntervalMs: number;
    transformEngine: 'duckdb' | 'spark';
    /** DuckDB memory_limit of the transform (it spills to its temp dir beyond it). */
    transformMemory: string;
    transformLateAllowanceMs: number;
    /** spark-submit settings when transformEngine is 'spark'. */
    spark: { submit: string; master: string; jars: string | undefined; driverMemory: string | undefined } | null;
    /** BullMQ on this Redis when set; in-process otherwise. */
    redisUrl: string | undefined;
    /** BullMQ key prefix: processes sharing it share their jobs. */
    queuePrefix: string;
  };
  warehouse: { kind: 'duckdb'; path: string } | { kind: 'postgres'; url: string } | { kind: 'redshift'; url: string; iamRole: string };
  /** The report API's isolation limits (src/query: fair queue, deadline, rate per key). */
  reports: {
    timeoutMs: number;
    concurrency: number;
    perTenant: number;
    queuePerTenant: number;
    requestsPerKeyPerMinute: number;
    /** Tenant SQL (`POST /v1/sql`): rows returned at most, and each statement's time limit. */
    sqlMaxRows: number;
    sqlTimeoutMs: number;
  };
  /** E-mail (SMTP when set, else .eml files in <dataDir>/outbox) and the origin of e-mailed links. */
  accounts: { smtpUrl: string | undefined; mailFrom: string; publicUrl: string };
  demo: { enabled: boolean };
  /** Billing (src/billing): `stripe` when STRIPE_SECRET_KEY is set, else `none`. */
  billing: {
    provider: 'stripe' | 'none';
    stripe: { secretKey: string; apiBase: URL | null; webhookSecret: string; meterEventName: string } | null;
    defaultPlan: string;
    graceMs: number;
  };
}

function parseSlice<S extends z.ZodObject>(s: S, env: Env, issues: string[]): z.infer<S> {
  const picked: Env = {};
  for (const k of Object.keys(s.shape)) if (env[k] !== undefined && env[k] !== '') picked[k] = env[k];
  const r = s.safeParse(picked);
  if (r.success) return r.data;
  for (const i of r.error.issues) {
    const name = String(i.path[0]);
    issues.push(`${name}=${JSON.stringify(env[name])}: ${i.message}`);
  }
  return {} as z.infer<S>;
}

type Slices = { [K in keyof typeof schema]: z.infer<(typeof schema)[K]> };

/** Every slice of the schema, in its order; the issues of all of them are collected, not the first only. */
function parseSlices(env: Env, issues: string[]): Slices {
  const slices: Partial<Record<keyof Slices, unknown>> = {};
  for (const k of Object.keys(schema) as (keyof Slices)[]) slices[k] = parseSlice(schema[k], env, issues);
  return slices as Slices;
}

export function loadConfig(env: Env = process.env): Config {
  const issues: string[] = [];
  const {
    core,
    http,
    db,
    eventLog: log,
    objectStore: os,
    counters,
    archiver,
    jobs,
    warehouse: wh,
    accounts,
    demo,
    reports,
    billing,
  } = parseSlices(env, issues);

  const logKind = log.TALLY_EVENT_LOG ?? (log.KAFKA_BROKERS ? 'kafka' : 'local');
  if (logKind === 'kafka' && !log.KAFKA_BROKERS) issues.push('KAFKA_BROKERS: required when TALLY_EVENT_LOG=kafka');
  if (wh.TALLY_WAREHOUSE && wh.TALLY_WAREHOUSE !== 'duckdb' && !wh.WAREHOUSE_URL) {
    issues.push(`WAREHOUSE_URL: required when TALLY_WAREHOUSE=${wh.TALLY_WAREHOUSE}`);
  }
  if (wh.TALLY_WAREHOUSE === 'redshift' && !wh.REDSHIFT_IAM_ROLE) issues.push('REDSHIFT_IAM_ROLE: required when TALLY_WAREHOUSE=redshift');
  if (wh.TALLY_WAREHOUSE === 'redshift' && !os.S3_BUCKET) issues.push('S3_BUCKET: required when TALLY_WAREHOUSE=redshift (COPY reads from S3)');
  if (jobs.TALLY_TRANSFORM_ENGINE === 'spark' && !jobs.SPARK_SUBMIT) issues.push('SPARK_SUBMIT: required when TALLY_TRANSFORM_ENGINE=spark');
  // combinations that start but can never work: refuse them here rather than fail later, quietly
  if (jobs.TALLY_TRANSFORM_ENGINE === 'spark' && os.S3_BUCKET && !jobs.SPARK_JARS) {
    issues.push('SPARK_JARS: required when TALLY_TRANSFORM_ENGINE=spark and S3_BUCKET is set (Spark reads S3 through s3a: hadoop-aws and the AWS SDK jars)');
  }
  for (const v of ['S3_ENDPOINT', 'S3_PREFIX'] as const) {
    if (env[v] && !os.S3_BUCKET)
      issues.push(`${v}: set without S3_BUCKET, so it would be ignored and the raw zone stay on local disk; set S3_BUCKET too, or unset ${v}`);
  }
  if (wh.REDSHIFT_IAM_ROLE && wh.TALLY_WAREHOUSE !== 'redshift') {
    issues.push(
      `REDSHIFT_IAM_ROLE: set but TALLY_WAREHOUSE=${wh.TALLY_WAREHOUSE ?? 'duckdb'}, so it would be ignored; set TALLY_WAREHOUSE=redshift, or unset REDSHIFT_IAM_ROLE`,
    );
  }
  if (billing.STRIPE_SECRET_KEY && !billing.STRIPE_WEBHOOK_SECRET)
    issues.push('STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set (webhooks are how subscription changes arrive)');
  if (issues.length) throw new ConfigError(issues);

  const dataDir = path.resolve(core.TALLY_DATA_DIR);
  return {
    core: { dataDir, logLevel: core.LOG_LEVEL, env: core.NODE_ENV },
    http: { port: http.PORT, host: http.HOST, trustProxy: http.TALLY_TRUST_PROXY, healthPort: http.TALLY_HEALTH_PORT },
    db: { url: db.DATABASE_URL },
    eventLog: {
      kind: logKind,
      partitions: log.TALLY_LOG_PARTITIONS,
      segmentBytes: log.TALLY_LOG_SEGMENT_BYTES,
      retentionMs: log.TALLY_LOG_RETENTION_HOURS * 3_600_000,
      kafka:
        logKind === 'kafka'
          ? {
              brokers: log.KAFKA_BROKERS!.split(',').map((b) => b.trim()),
              clientId: log.KAFKA_CLIENT_ID,
              topics: { 'raw-events': log.KAFKA_TOPIC_RAW, 'dead-letter': log.KAFKA_TOPIC_DEAD_LETTER },
            }
          : null,
    },
    objectStore: os.S3_BUCKET
      ? {
          kind: 's3',
          bucket: os.S3_BUCKET,
          prefix: os.S3_PREFIX,
          region: os.S3_REGION,
          endpoint: os.S3_ENDPOINT,
          forcePathStyle: os.S3_FORCE_PATH_STYLE,
        }
      : { kind: 'folder', dir: path.join(dataDir, 'objects') },
    counters: { redisUrl: counters.REDIS_URL, prefix: counters.TALLY_COUNTERS_PREFIX, anonymousIpRate: counters.TALLY_ANONYMOUS_IP_RATE },
    archiver: { batchRecords: archiver.TALLY_ARCHIVE_BATCH_RECORDS, maxWaitMs: archiver.TALLY_ARCHIVE_MAX_WAIT_MS },
    jobs: {
      transformIntervalMs: jobs.TALLY_TRANSFORM_INTERVAL_MS,
      transformEngine: jobs.TALLY_TRANSFORM_ENGINE,
      transformMemory: jobs.TALLY_TRANSFORM_MEMORY ?? `${Math.max(256, Math.floor(totalmem() / 4 / 2 ** 20))}MB`,
      transformLateAllowanceMs: jobs.TALLY_TRANSFORM_LATE_ALLOWANCE_MS,
      spark:
        jobs.TALLY_TRANSFORM_ENGINE === 'spark'
          ? { submit: jobs.SPARK_SUBMIT!, master: jobs.SPARK_MASTER, jars: jobs.SPARK_JARS, driverMemory: jobs.SPARK_DRIVER_MEMORY }
          : null,
      redisUrl: jobs.REDIS_URL,
      queuePrefix: jobs.TALLY_QUEUE_PREFIX,
    },
    warehouse:
      wh.TALLY_WAREHOUSE === 'postgres'
        ? { kind: 'postgres', url: wh.WAREHOUSE_URL! }
        : wh.TALLY_WAREHOUSE === 'redshift'
          ? { kind: 'redshift', url: wh.WAREHOUSE_URL!, iamRole: wh.REDSHIFT_IAM_ROLE! }
          : { kind: 'duckdb', path: path.join(dataDir, 'warehouse.duckdb') },
    accounts: {
      smtpUrl: accounts.SMTP_URL,
      mailFrom: accounts.TALLY_MAIL_FROM,
      publicUrl: (accounts.TALLY_PUBLIC_URL ?? `http://localhost:${http.PORT}`).replace(/\/+$/, ''),
    },
    demo: { enabled: demo.TALLY_DEMO === 'on' },
    billing: {
      provider: billing.STRIPE_SECRET_KEY ? 'stripe' : 'none',
      stripe: billing.STRIPE_SECRET_KEY
        ? {
            secretKey: billing.STRIPE_SECRET_KEY,
            apiBase: billing.STRIPE_API_BASE ? new URL(billing.STRIPE_API_BASE) : null,
            webhookSecret: billing.STRIPE_WEBHOOK_SECRET!,
            meterEventName: billing.STRIPE_METER_EVENT_NAME,
          }
        : null,
      defaultPlan: billing.TALLY_DEFAULT_PLAN,
      graceMs: billing.TALLY_BILLING_GRACE_DAYS * 86_400_000,
    },
    reports: {
      timeoutMs: reports.TALLY_REPORT_TIMEOUT_MS,
      concurrency: reports.TALLY_REPORT_CONCURRENCY,
      perTenant: reports.TALLY_REPORT_TENANT_CONCURRENCY,
      queuePerTenant: reports.TALLY_REPORT_TENANT_QUEUE,
      requestsPerKeyPerMinute: reports.TALLY_REPORT_RATE_PER_MINUTE,
      sqlMaxRows: reports.TALLY_SQL_MAX_ROWS,
      sqlTimeoutMs: reports.TALLY_SQL_TIMEOUT_MS,
    },
  };
}

/**
 * Refuses a role split the configuration cannot serve. The embedded DuckDB warehouse is a file
 * one process opens: an `api` process without the `worker` (or the reverse) would read a
 * warehouse nothing loads, or fail on the file's lock.
 */
export function checkRoles(config: Config, roles: readonly string[]): void {
  const api = roles.includes('api');
  const worker = roles.includes('worker');
  if (config.warehouse.kind === 'duckdb' && api !== worker) {
    throw new ConfigError([
      `TALLY_WAREHOUSE=duckdb (the default) is a file owned by one process: roles api and worker must run together (got ${roles.join(', ')}); set TALLY_WAREHOUSE=postgres and WAREHOUSE_URL to run them apart`,
    ]);
  }
}
