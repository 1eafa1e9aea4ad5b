import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { transformedKey, TRANSFORMED_TABLE_NAMES, TRANSFORMED_TABLES, type Column, type TransformedTable } from '../../domain/transformed-schema.js';
import { TallyError } from '../errors.js';
import type { ObjectStore } from '../object-store/object-store.port.js';
import { ATTRIBUTION_PARAMS, rulesById, writeEnrichmentDim, type DimName } from './enrichment-dims.js';
import { listRawKeys, transformParams, transformWindow } from './raw-window.js';
import { loadPriorTouches, lookbackSessionKeys } from './prior-touch.js';
import { sparkTransformDialect } from './transform-dialect.js';
import type { TransformEngine, TransformRequest, TransformResult, WrittenPartition } from './transform-engine.port.js';
import { OUT_VIEWS, RAW_FIELDS, sqlString, transformSteps } from './transform.sql.js';
import { DUCKDB_TYPES } from '../column-types.js';

const JOB_DIR = fileURLToPath(new URL('../../../jobs/spark/', import.meta.url));

export interface SparkTransformEngineOptions {
  /** The spark-submit executable (SPARK_SUBMIT). */
  sparkSubmit: string;
  /** e.g. local[*] or spark://host:7077; the driver runs here (client mode) and shares the work dir. */
  master: string;
  /** Comma-separated jars for s3a (SPARK_JARS); needed when raw objects are on S3. */
  jars?: string;
  driverMemory?: string;
  shufflePartitions?: number;
  /** s3a settings when the store is S3; credentials come from the AWS_* environment, never argv. */
  s3?: { endpoint?: string; region: string; forcePathStyle: boolean };
  /** Extra `--conf` pairs. */
  conf?: Record<string, string>;
  /** Parent of each run's work dir; must be visible to the executors (local master or a shared mount). */
  tempDir?: string;
  /** Receives every line spark-submit prints. */
  onLog?: (line: string) => void;
}

interface JobResult {
  rawRead: number;
  rows: Record<TransformedTable, Record<string, number>>;
}

/**
 * Raw zone -> transformed zone on Spark (`jobs/spark/transform_job.py`), giving the rows the DuckDB
 * engine gives: the job runs the statements of `transform.sql.ts` it is sent, spelled for Spark.
 * User agents, URLs and attribution are computed here, once per distinct key the job reports,
 * with the same JS as DuckDB, and handed back as Parquet. Partitions are written by the job to the work dir and published through the store.
 */
export class SparkTransformEngine implements TransformEngine {
  constructor(
    private readonly store: ObjectStore,
    private readonly opts: SparkTransformEngineOptions,
  ) {}

  async transform(request: TransformRequest, onProgress?: (done: number, total: number) => void): Promise<TransformResult> {
    const { settings } = request;
    const window = transformWindow(settings, request.dates);
    if (window === null) return { partitions: [], rawRead: 0, eventsWritten: 0 };
    const { dates } = window;

    // the transform itself: the statements DuckDB runs, spelled for Spark (11 steps, 12 with internal traffic)
    const params = transformParams(settings, window, ATTRIBUTION_PARAMS);
    const steps = transformSteps(sparkTransformDialect, params);
    const total = 2 + steps.length + TRANSFORMED_TABLE_NAMES.length * dates.length;
    let done = 0;
    const step = () => onProgress?.(++done, total);

    const rawKeys = await listRawKeys(this.store, settings, window);
    step();
    const work = await mkdtemp(join(this.opts.tempDir ?? tmpdir(), 'tally-spark-'));
    const db = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', threads: '1' });
    const conn = await db.connect();
    const rules = rulesById(params.properties);
    try {
      await mkdir(join(work, 'dims'));
      // last non-direct click: the users' touches before the window, read here as the DuckDB engine reads them
      const priorTouch = join(work, 'prior_touch.parquet');
      await this.priorTouches(conn, settings, window.startMs, work);
      await conn.run(`COPY prior_touch TO ${sqlString(priorTouch)} (FORMAT parquet)`);
      await writeFile(
        join(work, 'request.json'),
        JSON.stringify({
          tenantId: settings.tenantId,
          propertyId: settings.propertyId,
          dates,
          rawLocations: rawKeys.map((k) => this.sparkLocation(k)),
          rawFields: RAW_FIELDS.map(([name, type]) => [name, type.toLowerCase()]),
          priorTouch,
          steps,
          tables: TRANSFORMED_TABLE_NAMES.map((name) => ({ name, view: OUT_VIEWS[name], ...TRANSFORMED_TABLES[name] })),
        }),
      );
      const result = await this.runJob(work, async (kind, payload) => {
        if (kind === 'KEYS') {
          const dim = (payload as { dim: DimName }).dim;
          await writeEnrichmentDim(conn, dim, join(work, 'keys'), join(work, 'dims'), rules);
          await writeFile(join(work, 'dims', `${dim}.ready`), '');
        }
        step();
      });

      const partitions: WrittenPartition[] = [];
      for (const date of dates) {
        for (const table of TRANSFORMED_TABLE_NAMES) {
          const key = transformedKey(table, { ...settings, date });
          const rows = result.rows[table][date] ?? 0;
          const file = await this.partitionFile(conn, work, table, date, rows);
          await this.store.put(key, await readFile(file));
          partitions.push({ table, date, keys: [key], rows });
          step();
        }
      }
      const eventsWritten = partitions.filter((p) => p.table === 'events').reduce((n, p) => n + p.rows, 0);
      return { partitions, rawRead: result.rawRead, eventsWritten };
    } finally {
      conn.closeSync();
      db.closeSync();
      await rm(work, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {}

  /** `prior_touch` in `conn` from the property's sessions files of the lookback (S3 objects copied into the work dir). */
  private async priorTouches(conn: DuckDBConnection, settings: TransformRequest['settings'], startMs: number, work: string): Promise<void> {
    const paths: string[] = [];
    for (const key of await lookbackSessionKeys(this.store, settings, startMs)) {
      const at = this.store.locate(key);
      if (isAbsolute(at)) paths.push(at);
      else {
        const body = await this.store.get(key);
        if (body === null) continue; // deleted since it was listed
        paths.push(join(work, `prior-${paths.length}.parquet`));
        await writeFile(paths[paths.length - 1], body);
      }
    }
    await loadPriorTouches(conn, settings, paths, startMs);
  }

  /** Where Spark reads a raw object: the folder store's file, or the S3 object through s3a. */
  private sparkLocation(key: string): string {
    const at = this.store.locate(key);
    if (isAbsolute(at)) return `file://${at}`;
    if (at.startsWith('s3://')) return `s3a://${at.slice('s3://'.length)}`;
    throw new TallyError('internal', `Spark cannot read ${at}`, { key });
  }

  private submitArgs(work: string): string[] {
    const local = localCores(this.opts.master);
    const conf: Record<string, string> = {
      'spark.ui.enabled': 'false',
      'spark.ui.showConsoleProgress': 'false',
      // also the partition count of `raw` (the job partitions it by row id for its joins)
      'spark.sql.shuffle.partitions': String(this.opts.shufflePartitions ?? (local ? 2 * local : 16)),
      'spark.sql.session.timeZone': 'UTC',
      'spark.sql.adaptive.enabled': 'true',
      ...(local
        ? {
            'spark.driver.host': '127.0.0.1',
            'spark.driver.bindAddress': '127.0.0.1',
            // one machine: shuffle and spill files never cross a network, compressing them only costs CPU
            'spark.shuffle.compress': 'false',
            'spark.shuffle.spill.compress': 'false',
          }
        : {}),
    };
    const s3 = this.opts.s3;
    if (s3) {
      Object.assign(conf, {
        'spark.hadoop.fs.s3a.endpoint.region': s3.region,
        'spark.hadoop.fs.s3a.path.style.access': String(s3.forcePathStyle),
        'spark.hadoop.fs.s3a.aws.credentials.provider': 'software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider',
      });
      if (s3.endpoint) {
        conf['spark.hadoop.fs.s3a.endpoint'] = s3.endpoint;
        conf['spark.hadoop.fs.s3a.connection.ssl.enabled'] = String(s3.endpoint.startsWith('https:'));
      }
    }
    Object.assign(conf, this.opts.conf);
    return [
      '--master',
      this.opts.master,
      ...(this.opts.driverMemory ? ['--driver-memory', this.opts.driverMemory] : []),
      ...(this.opts.jars ? ['--jars', this.opts.jars] : []),
      ...Object.entries(conf).flatMap(([k, v]) => ['--conf', `${k}=${v}`]),
      '--py-files',
      join(JOB_DIR, 'json_text.py'),
      join(JOB_DIR, 'transform_job.py'),
      work,
    ];
  }

  /** Runs spark-submit, answering its TALLY_KEYS line; resolves with its result.json. */
  private runJob(work: string, onPhase: (kind: string, payload: unknown) => Promise<void>): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.opts.sparkSubmit, this.submitArgs(work), { stdio: ['ignore', 'pipe', 'pipe'] });
      const tail: string[] = [];
      let failure: unknown = null;
      let phases = Promise.resolve();
      const onLine = (line: string) => {
        this.opts.onLog?.(line);
        tail.push(line);
        if (tail.length > 40) tail.shift();
        const m = /^TALLY_(KEYS|PROGRESS)(?: (.*))?$/.exec(line);
        if (!m) return;
        phases = phases
          .then(() => onPhase(m[1], m[2] ? JSON.parse(m[2]) : null))
          .catch((e: unknown) => {
            failure ??= e;
            child.kill('SIGTERM');
          });
      };
      createInterface({ input: child.stdout }).on('line', onLine);
      createInterface({ input: child.stderr }).on('line', onLine);
      child.on('error', (e) => {
        failure ??= e;
      });
      child.on('close', (code, signal) => {
        void phases.then(async () => {
          if (failure !== null) return reject(failure);
          const resultFile = join(work, 'result.json');
          if (code !== 0 || !existsSync(resultFile)) {
            return reject(
              new TallyError('internal', `spark-submit failed (${signal ?? `exit ${code}`}):\n${tail.join('\n')}`, {
                code,
                signal,
              }),
            );
          }
          resolve(JSON.parse(await readFile(resultFile, 'utf8')) as JobResult);
        });
      });
    });
  }

  /** The job's one file for a (table, date), or an empty, typed file when the date has no rows. */
  private async partitionFile(conn: DuckDBConnection, work: string, table: TransformedTable, date: string, rows: number): Promise<string> {
    const dir = join(work, 'out', table, `_dt=${date}`);
    const files = existsSync(dir) ? (await readdir(dir)).filter((f) => f.endsWith('.parquet')) : [];
    if (files.length > 1) {
      throw new TallyError('internal', `Spark wrote ${files.length} files for ${table} ${date}`, { table, date });
    }
    if (files.length === 1) return join(dir, files[0]);
    if (rows !== 0) throw new TallyError('internal', `Spark wrote no file for ${table} ${date}`, { table, date, rows });
    const path = join(work, `empty-${table}-${date}.parquet`);
    const { columns } = TRANSFORMED_TABLES[table];
    await conn.run(`COPY (SELECT ${emptyColumns(columns)} WHERE false) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd)`);
    return path;
  }
}

/** The cores of a `local[N]` / `local[*]` / `local` master, else null (a cluster). */
export function localCores(master: string): number | null {
  const m = /^local(?:\[(\d+|\*)(?:,\d+)?\])?$/.exec(master);
  if (!m) return null;
  return m[1] === undefined ? 1 : m[1] === '*' ? availableParallelism() : Number(m[1]);
}

function emptyColumns(columns: readonly Column[]): string {
  return columns.map((c) => `CAST(NULL AS ${DUCKDB_TYPES[c.type]}) AS "${c.name}"`).join(', ');
}
