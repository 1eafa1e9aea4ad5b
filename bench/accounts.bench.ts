import { performance } from 'node:perf_hooks';
import { CookieClient } from '../test/support/cookie-client.js';
import { startAccountsApp } from '../src/tenancy/accounts-app.testkit.js';
import { hashPassword } from '../src/tenancy/password.js';

/**
 * Accounts: login (argon2id verify + session row) latency and sustained logins/s of one process,
 * and what the session adds to a report request: the same authorised request by read key and by
 * session cookie (+CSRF) against a route that answers as soon as it is authorised, so the
 * difference is the session lookup (store read + user read + membership check). PGlite metadata.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PASSWORD = 'benchmark password 1';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function timed(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    out.push(performance.now() - t);
  }
  return out;
}

export async function run() {
  const app = await startAccountsApp();
  try {
    const hashMs = await timed(10, () => hashPassword(PASSWORD));
    const c = new CookieClient(app.baseUrl);
    const s = await c.post('/api/auth/signup', { email: 'bench@bench.test', password: PASSWORD, name: 'B', organizationName: 'Bench' });
    await c.csrf();
    const property = (await c.post(`/api/orgs/${s.body.organization.id}/properties`, { name: 'P', domain: 'p.bench.test' })).body.property;
    const readKey = (await c.post(`/api/properties/${property.id}/keys`, { kind: 'read', name: 'r' })).body.secret;

    // login latency, one at a time
    const login = () => new CookieClient(app.baseUrl).post('/api/auth/login', { email: 'bench@bench.test', password: PASSWORD });
    const loginMs = await timed(20, async () => {
      const r = await login();
      if (r.status !== 200) throw new Error(`login answered ${r.status}`);
    });
    // sustained logins/s with 4 in flight (argon2 runs on libuv's thread pool)
    let logins = 0;
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (Date.now() < until) {
          if ((await login()).status === 200) logins++;
        }
      }),
    );
    const loginsPerSecond = logins / SECONDS;

    // report request by read key vs by session (interleaved rounds, medians)
    const url = `${app.baseUrl}/v1beta/properties/${property.id}:runReport`;
    const byKey = () => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${readKey}` }, body: '{}' }).then((r) => r.text());
    const bySession = () =>
      fetch(url, { method: 'POST', headers: { cookie: c.cookieHeader(), 'x-csrf-token': c.csrfToken! }, body: '{}' }).then((r) => r.text());
    await timed(50, byKey);
    await timed(50, bySession);
    const key: number[] = [];
    const session: number[] = [];
    for (let round = 0; round < 10; round++) {
      key.push(...(await timed(50, byKey)));
      session.push(...(await timed(50, bySession)));
    }
    const result = {
      argon2idHashP50Ms: +pct(hashMs, 50).toFixed(2),
      loginP50Ms: +pct(loginMs, 50).toFixed(2),
      loginP99Ms: +pct(loginMs, 99).toFixed(2),
      loginsPerSecond: +loginsPerSecond.toFixed(1),
      reportByKeyP50Ms: +pct(key, 50).toFixed(3),
      reportBySessionP50Ms: +pct(session, 50).toFixed(3),
      sessionOverheadP50Ms: +(pct(session, 50) - pct(key, 50)).toFixed(3),
      sessionOverheadP99Ms: +(pct(session, 99) - pct(key, 99)).toFixed(3),
    };
    console.table(result);
    return result;
  } finally {
    await app.close();
  }
}
