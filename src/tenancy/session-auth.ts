import { createHash, randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { Db } from '../infra/metadata/db.js';
import type { Counters } from '../infra/counters/counters.port.js';
import { TallyError } from '../infra/errors.js';
import { KnexSessionStore } from './knex.session-store.js';
import { TtlCache } from './ttl-cache.js';
import { verifyPassword } from './password.js';
import { tokensEqual } from './admin-token.js';
import type { TenancyService } from './tenancy.service.js';

export const SESSION_COOKIE = 'tally.sid';
const SESSION_TTL_MS = 14 * 86_400_000;

declare module 'express-session' {
  interface SessionData {
    csrf?: string;
  }
}

/** The signed-in user as routes see it (`req.user`). */
export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  is_staff: boolean;
  email_verified_at: Date | null;
}

/** The cookie-signing secret, shared by every process on the metadata DB (made once, kept there). */
export async function sessionSecret(db: Db): Promise<string> {
  await db('app_secrets')
    .insert({ name: 'session', value: randomBytes(32).toString('base64url') })
    .onConflict('name')
    .ignore();
  return (await db('app_secrets').where({ name: 'session' }).first('value')).value;
}

/**
 * Brute-force brake: 10 failed logins for one e-mail or one client IP within a 15-minute window
 * refuse further attempts with 429 until the window ends. Counted in the counters port, so on
 * Redis every api process shares the counts.
 */
export class LoginThrottle {
  static readonly LIMIT = 10;
  static readonly WINDOW_MS = 15 * 60_000;

  constructor(
    private readonly counters: Counters,
    private readonly now: () => number = Date.now,
  ) {}

  private keys(email: string, ip: string): string[] {
    const e = createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 32);
    return [`login-fail:email:${e}`, `login-fail:ip:${ip}`];
  }

  /** Throws 429 when either count is at the limit. */
  async check(email: string, ip: string): Promise<void> {
    for (const key of this.keys(email, ip)) {
      if ((await this.counters.peek(key, LoginThrottle.WINDOW_MS).catch(() => 0)) >= LoginThrottle.LIMIT) {
        const t = this.now();
        const retryAfterMs = LoginThrottle.WINDOW_MS - (t % LoginThrottle.WINDOW_MS);
        throw new TallyError('rate_limited', 'too many failed logins; try again later', { reason: 'too_many_logins', retryAfterMs });
      }
    }
  }

  async failed(email: string, ip: string): Promise<void> {
    // n=1 with limit+1 so the take itself never refuses; check() is what refuses
    for (const key of this.keys(email, ip)) await this.counters.take(key, 1, LoginThrottle.LIMIT + 1_000_000, LoginThrottle.WINDOW_MS);
  }
}

export interface SessionLayer {
  /** express-session + passport, for the routes that read the session cookie. */
  middleware: RequestHandler[];
  passport: InstanceType<typeof Passport>;
  store: KnexSessionStore;
  throttle: LoginThrottle;
  /** Drops this process's cached copy of a user (after verifying, a password change). */
  forgetUser(id: string): void;
}

export function createSessionLayer(deps: {
  db: Db;
  service: TenancyService;
  secret: string;
  counters: Counters;
  secureCookies: boolean | 'auto';
}): SessionLayer {
  const store = new KnexSessionStore(deps.db, { ttlMs: SESSION_TTL_MS });
  const throttle = new LoginThrottle(deps.counters);
  const passport = new Passport();
  passport.use(
    new LocalStrategy({ usernameField: 'email', passwordField: 'password', session: true }, (email, password, done) => {
      void (async () => {
        const user = await deps.service.userByEmail(email);
        // the same work and the same answer for an unknown e-mail and a wrong password
        const ok = await verifyPassword(user?.password_hash ?? null, password);
        return ok && user ? done(null, toSessionUser(user)) : done(null, false);
      })().catch(done);
    }),
  );
  passport.serializeUser((user, done) => done(null, (user as SessionUser).id));
  // users read at most once a second per process (staff flag, verification): no DB read per request
  const users = new TtlCache<SessionUser | false>(1_000);
  passport.deserializeUser((id: string, done) => {
    const hit = users.get(id);
    if (hit !== undefined) return done(null, hit);
    deps.service.userById(id).then((u) => {
      const su = u ? toSessionUser(u) : false;
      users.set(id, su);
      done(null, su);
    }, done);
  });
  const sess = session({
    name: SESSION_COOKIE,
    secret: deps.secret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    proxy: undefined, // follows the app's "trust proxy"
    cookie: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, maxAge: SESSION_TTL_MS, path: '/' },
  });
  return { middleware: [sess, passport.initialize(), passport.session()], passport, store, throttle, forgetUser: (id) => users.delete(id) };
}

export function toSessionUser(u: Record<string, any>): SessionUser {
  return { id: u.id, email: u.email, name: u.name ?? null, is_staff: !!u.is_staff, email_verified_at: u.email_verified_at ?? null };
}

/** The session's CSRF token, made on first use. */
export function csrfToken(req: Request): string {
  req.session.csrf ??= randomBytes(24).toString('base64url');
  return req.session.csrf;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** State-changing requests authenticated by the session cookie must carry X-CSRF-Token. */
export function assertCsrf(req: Request): void {
  if (SAFE.has(req.method)) return;
  const sent = req.get('x-csrf-token');
  const expected = req.session?.csrf;
  if (!sent || !expected || !tokensEqual(sent, expected)) {
    throw new TallyError('permission_denied', 'missing or wrong X-CSRF-Token header (get one from GET /api/auth/csrf)', { reason: 'csrf' });
  }
}

/** Logs in with the session id rotated (passport regenerates the session on login). */
export function logIn(req: Request, user: SessionUser): Promise<void> {
  return new Promise((resolve, reject) => req.logIn(user, (err) => (err ? reject(err) : resolve())));
}

export function logOut(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.logOut((err) => {
      if (err) return reject(err);
      req.session.destroy((e) => (e ? reject(e) : resolve()));
    }),
  );
}

/** Runs passport-local's check with the throttle around it; the user or a 401/429. */
export async function authenticateLocal(layer: SessionLayer, req: Request, res: Response, email: string): Promise<SessionUser> {
  const ip = req.ip ?? 'unknown';
  await layer.throttle.check(email, ip);
  const user = await new Promise<SessionUser | false>((resolve, reject) => {
    const next: NextFunction = (err?: unknown) => reject(err);
    layer.passport.authenticate('local', { session: false }, (err: unknown, u: SessionUser | false) => (err ? reject(err) : resolve(u)))(req, res, next);
  });
  if (!user) {
    await layer.throttle.failed(email, ip);
    throw new TallyError('unauthenticated', 'wrong e-mail or password', { reason: 'bad_credentials' });
  }
  return user;
}
