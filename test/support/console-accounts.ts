import path from 'node:path';
import { expect } from 'vitest';
import { readOutbox } from '../../src/infra/mailer/outbox.mailer.js';
import { CookieClient } from './cookie-client.js';
import { eventually, type TallyProcess } from './tally-process.js';

/**
 * People of a console e2e, as they join through the API: sign up and verify from the outbox, or
 * be invited into an organisation with a role and accept. Every one signs in with `password`.
 */
export function consoleAccounts(tally: () => TallyProcess, password: string) {
  function token(to: string, kind: 'verify' | 'invitations'): string {
    const m = readOutbox(path.join(tally().dataDir, 'outbox'))
      .filter((x) => x.to === to && x.body.includes(`/${kind}`))
      .pop();
    const t = m && new RegExp(`/${kind}(?:\\?token=|/)([\\w-]+)`).exec(m.body)?.[1];
    if (!t) throw new Error(`no ${kind} e-mail to ${to}`);
    return t;
  }

  /** A new person with their own organisation `org`, verified and signed in (CSRF token fetched). */
  async function signUp(email: string, org: string) {
    const c = new CookieClient(tally().baseUrl);
    const r = await c.post('/api/auth/signup', { email, password, name: email.split('+')[0], organizationName: org });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await c.csrf();
    expect((await c.post('/api/auth/verify', { token: await eventually(() => token(email, 'verify'), 10_000, 'verify mail') })).status).toBe(200);
    return { c, orgId: r.body.organization.id as string };
  }

  /** `email` invited by `owner` into `orgId` with `role`, signed up and accepted. */
  async function join(owner: CookieClient, orgId: string, email: string, role: 'admin' | 'editor' | 'viewer') {
    expect((await owner.post(`/api/orgs/${orgId}/invitations`, { email, role })).status).toBe(201);
    const { c } = await signUp(email, `${role} own org`);
    expect((await c.post(`/api/invitations/${await eventually(() => token(email, 'invitations'), 10_000, 'invitation')}/accept`)).status).toBe(200);
    return c;
  }

  return { token, signUp, join };
}
