import session from 'express-session';
import type { Db } from '../infra/metadata/db.js';
import { TtlCache } from './ttl-cache.js';

type Callback<T = void> = (err?: unknown, value?: T | null) => void;
type Data = session.SessionData & { passport?: { user?: string } };

/**
 * express-session's store in the metadata DB (PGlite or PostgreSQL), so a session made by one api
 * process works on every other and survives restarts. The user id is a column of its own so that
 * all sessions of a user can be ended at once (password change, removal).
 *
 * Reads are cached for `cacheMs` (default 1 s) so a report request with a cookie costs no DB
 * read: a session ended here is gone at once, one ended by another process within `cacheMs`.
 * Touches (the sliding expiry) are written at most once per `touchEveryMs` per session.
 */
export class KnexSessionStore extends session.Store {
  private sweeper: NodeJS.Timeout | null = null;
  private readonly cache: TtlCache<Data | null>;
  private readonly touched: TtlCache<true>;

  constructor(
    private readonly db: Db,
    private readonly opts: { ttlMs: number; sweepMs?: number; cacheMs?: number; touchEveryMs?: number } = { ttlMs: 14 * 86_400_000 },
  ) {
    super();
    this.cache = new TtlCache(opts.cacheMs ?? 1_000);
    this.touched = new TtlCache(opts.touchEveryMs ?? 3_600_000);
    const sweep = opts.sweepMs ?? 3_600_000;
    this.sweeper = setInterval(() => void this.sweep().catch(() => undefined), sweep);
    this.sweeper.unref();
  }

  private expiry(sess: Data): Date {
    const e = sess.cookie?.expires;
    return e ? new Date(e) : new Date(Date.now() + this.opts.ttlMs);
  }

  override get(sid: string, cb: Callback<Data>): void {
    const hit = this.cache.get(sid);
    if (hit !== undefined) {
      // a copy: express-session mutates what it gets
      return void queueMicrotask(() => cb(null, hit && structuredClone(hit)));
    }
    this.db('sessions')
      .where('sid', sid)
      .andWhere('expires_at', '>', new Date())
      .first('sess')
      .then((row) => {
        const sess: Data | null = row ? (typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess) : null;
        this.cache.set(sid, sess && structuredClone(sess));
        cb(null, sess);
      }, cb);
  }

  override set(sid: string, sess: Data, cb?: Callback): void {
    const row = { sid, user_id: sess.passport?.user ?? null, sess: JSON.stringify(sess), expires_at: this.expiry(sess) };
    this.cache.delete(sid);
    this.db('sessions')
      .insert(row)
      .onConflict('sid')
      .merge(['user_id', 'sess', 'expires_at'])
      .then(
        () => cb?.(),
        (err) => cb?.(err),
      );
  }

  override touch(sid: string, sess: Data, cb?: Callback): void {
    if (this.touched.get(sid)) return void cb?.();
    this.touched.set(sid, true);
    this.db('sessions')
      .where('sid', sid)
      .update({ expires_at: this.expiry(sess) })
      .then(
        () => cb?.(),
        (err) => cb?.(err),
      );
  }

  override destroy(sid: string, cb?: Callback): void {
    this.cache.delete(sid);
    this.db('sessions')
      .where('sid', sid)
      .del()
      .then(
        () => cb?.(),
        (err) => cb?.(err),
      );
  }

  /** Ends every session of a user (password change); returns how many ended. */
  async destroyUser(userId: string): Promise<number> {
    this.cache.deleteWhere((s) => s?.passport?.user === userId);
    return this.db('sessions').where('user_id', userId).del();
  }

  async sweep(): Promise<number> {
    return this.db('sessions').where('expires_at', '<=', new Date()).del();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
