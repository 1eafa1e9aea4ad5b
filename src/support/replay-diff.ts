import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';

/** The figures of one local date, counted over human (non-bot) rows only. */
export interface DayFigures {
  users: number;
  sessions: number;
  views: number;
  /** 1 − engaged sessions / sessions (GA4's definition); 0 without sessions. */
  bounceRate: number;
  keyEvents: number;
  events: number;
}

export interface DayDiff {
  date: string;
  before: DayFigures;
  after: DayFigures;
}

export interface Mover {
  name: string;
  before: number;
  after: number;
  change: number;
}

/** What a replay would change (dry run) or changed (real run). */
export interface ReplayDiff {
  days: DayDiff[];
  /** The ten page paths whose page views change most, and the ten session sources (and channel groups) whose sessions do. */
  pages: Mover[];
  sources: Mover[];
  /** Sessions by default channel group: what a change of the property's channel rules moves. */
  channels: Mover[];
  totals: { before: DayFigures; after: DayFigures };
}

/** The object keys of one side: the partitions' files of the events and sessions tables. */
export interface SideKeys {
  events: string[];
  sessions: string[];
}

interface Side {
  days: Map<string, DayFigures>;
  totals: DayFigures;
  pages: Map<string, number>;
  sources: Map<string, number>;
  channels: Map<string, number>;
}

const EMPTY: DayFigures = { users: 0, sessions: 0, views: 0, bounceRate: 0, keyEvents: 0, events: 0 };

/**
 * Compares two versions of a property's transformed partitions (the current files and a replay's
 * staged ones) with an in-memory DuckDB over their Parquet files, whichever engine wrote them and
 * whichever store holds them (S3 objects are copied to a temp dir first). Users are distinct
 * client ids (else user ids) with an event that day, the way the reference calculator counts them.
 */
export async function diffPartitions(store: ObjectStore, dates: string[], before: SideKeys, after: SideKeys, tempDir?: string): Promise<ReplayDiff> {
  const dir = await mkdtemp(join(tempDir ?? tmpdir(), 'tally-replay-diff-'));
  const instance = await DuckDBInstance.create(':memory:', { threads: '1', autoinstall_known_extensions: 'false' });
  const conn = await instance.connect();
  try {
    const b = await side(conn, store, dir, 'b', before);
    const a = await side(conn, store, dir, 'a', after);
    return {
      days: dates.map((date) => ({ date, before: b.days.get(date) ?? EMPTY, after: a.days.get(date) ?? EMPTY })),
      pages: movers(b.pages, a.pages),
      sources: movers(b.sources, a.sources),
      channels: movers(b.channels, a.channels),
      totals: { before: b.totals, after: a.totals },
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

async function side(conn: DuckDBConnection, store: ObjectStore, dir: string, tag: string, keys: SideKeys): Promise<Side> {
  const events = await localCopies(store, dir, `${tag}-e`, keys.events);
  const sessions = await localCopies(store, dir, `${tag}-s`, keys.sessions);
  const days = new Map<string, DayFigures>();
  const day = (d: string) => {
    let f = days.get(d);
    if (!f) days.set(d, (f = { ...EMPTY }));
    return f;
  };
  const totals = { ...EMPTY };
  const pages = new Map<string, number>();
  const sources = new Map<string, number>();
  const channels = new Map<string, number>();
  if (events.length) {
    const ev = `read_parquet(${list(events)})`;
    for (const [d, users, views, keyEvents, n] of await rows(
      conn,
      `SELECT CAST(local_date AS VARCHAR), count(DISTINCT coalesce(client_id, user_id)), count(*) FILTER (WHERE is_page_view),
              count(*) FILTER (WHERE is_key_event), count(*) FROM ${ev} WHERE NOT is_bot GROUP BY 1`,
    )) {
      Object.assign(day(String(d)), { users: Number(users), views: Number(views), keyEvents: Number(keyEvents), events: Number(n) });
    }
    const [[users, views, keyEvents, n]] = await rows(
      conn,
      `SELECT count(DISTINCT coalesce(client_id, user_id)), count(*) FILTER (WHERE is_page_view), count(*) FILTER (WHERE is_key_event), count(*)
         FROM ${ev} WHERE NOT is_bot`,
    );
    Object.assign(totals, { users: Number(users), views: Number(views), keyEvents: Number(keyEvents), events: Number(n) });
    for (const [path, v] of await rows(conn, `SELECT page_path, count(*) FROM ${ev} WHERE NOT is_bot AND is_page_view GROUP BY 1`))
      pages.set(String(path ?? '(not set)'), Number(v));
  }
  if (sessions.length) {
    const se = `read_parquet(${list(sessions)})`;
    let all = 0;
    let engagedAll = 0;
    for (const [d, n, engaged] of await rows(
      conn,
      `SELECT CAST(local_date AS VARCHAR), count(*), count(*) FILTER (WHERE engaged) FROM ${se} WHERE NOT is_bot GROUP BY 1`,
    )) {
      const f = day(String(d));
      f.sessions = Number(n);
      f.bounceRate = bounce(Number(n), Number(engaged));
      all += Number(n);
      engagedAll += Number(engaged);
    }
    totals.sessions = all;
    totals.bounceRate = bounce(all, engagedAll);
    for (const [source, n] of await rows(conn, `SELECT source, count(*) FROM ${se} WHERE NOT is_bot GROUP BY 1`))
      sources.set(String(source ?? '(not set)'), Number(n));
    for (const [channel, n] of await rows(conn, `SELECT channel_group, count(*) FROM ${se} WHERE NOT is_bot GROUP BY 1`))
      channels.set(String(channel ?? '(not set)'), Number(n));
  }
  return { days, totals, pages, sources, channels };
}

const bounce = (sessions: number, engaged: number) => (sessions ? 1 - engaged / sessions : 0);

function movers(before: Map<string, number>, after: Map<string, number>): Mover[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names]
    .map((name) => {
      const b = before.get(name) ?? 0;
      const a = after.get(name) ?? 0;
      return { name, before: b, after: a, change: a - b };
    })
    .filter((m) => m.change !== 0)
    .sort((x, y) => Math.abs(y.change) - Math.abs(x.change) || (x.name < y.name ? -1 : 1))
    .slice(0, 10);
}

/** Copies of `keys` in `dir` that DuckDB can scan (the folder store's own files are copied too: they may be replaced meanwhile). */
export async function localCopies(store: ObjectStore, dir: string, tag: string, keys: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const [i, key] of keys.entries()) {
    const body = await store.get(key);
    if (!body) continue;
    const path = join(dir, `${tag}-${i}.parquet`);
    await writeFile(path, body);
    out.push(path);
  }
  return out;
}

export const list = (paths: string[]) => `[${paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ')}]`;

export async function rows(conn: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await conn.runAndReadAll(sql)).getRows() as unknown[][];
}
