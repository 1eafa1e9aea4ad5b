import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import type { Mailer } from '../infra/mailer/mailer.port.js';
import { consumeToken, issueToken } from './auth-token.repository.js';
import { hashPassword, passwordProblem } from './password.js';
import { newId } from './secrets.js';
import { FREE_PLAN_ID } from '../domain/plans.js';

const HOUR = 3_600_000;
const VERIFY_TTL = 48 * HOUR;
const RESET_TTL = HOUR;

/**
 * Users: accounts, e-mail verification and password reset. The base of `TenancyService`
 * (tenancy.service.ts), which adds organisations, members, properties and keys; callers use that.
 */
export class UserAccounts {
  constructor(
    readonly db: Db,
    private readonly opts: { mailer?: Mailer; publicUrl?: string; defaultPlanId?: string } = {},
  ) {}

  /** The plan new organisations start on (TALLY_DEFAULT_PLAN). */
  protected get defaultPlanId(): string {
    return this.opts.defaultPlanId ?? FREE_PLAN_ID;
  }

  protected get publicUrl(): string {
    return this.opts.publicUrl ?? '';
  }

  protected async mail(m: Parameters<Mailer['send']>[0]): Promise<void> {
    if (!this.opts.mailer) throw new TallyError('unavailable', 'no mailer configured here');
    await this.opts.mailer.send(m);
  }

  // ---- users -------------------------------------------------------------------------------

  async userById(id: string): Promise<Record<string, any> | null> {
    return (await this.db('users').where({ id }).first()) ?? null;
  }

  async userByEmail(email: string): Promise<Record<string, any> | null> {
    return (await this.db('users').where({ email: email.toLowerCase() }).first()) ?? null;
  }

  private checkPassword(password: string): void {
    const problem = passwordProblem(password);
    if (problem) throw new TallyError('unprocessable', `password: ${problem}`, { reason: 'weak_password', fields: { password: problem } });
  }

  /** A new user with a password; `existing: 'claim'` sets the password of a user made without one (by `tenant create`). */
  async createUser(input: { email: string; password: string; name?: string | null; isStaff?: boolean; verified?: boolean }): Promise<Record<string, any>> {
    this.checkPassword(input.password);
    const email = input.email.toLowerCase();
    const passwordHash = await hashPassword(input.password);
    const existing = await this.userByEmail(email);
    if (existing?.password_hash) throw new TallyError('conflict', 'an account with this e-mail exists', { reason: 'email_taken' });
    const row = {
      name: input.name ?? null,
      password_hash: passwordHash,
      is_staff: input.isStaff ?? false,
      email_verified_at: input.verified ? new Date() : null,
      password_changed_at: new Date(),
    };
    if (existing) {
      // made by `tenant create` for an owner who never signed up: signing up claims it, unverified
      const [u] = await this.db('users').where({ id: existing.id }).whereNull('password_hash').update(row).returning('*');
      if (!u) throw new TallyError('conflict', 'an account with this e-mail exists', { reason: 'email_taken' });
      return u;
    }
    try {
      const [u] = await this.db('users')
        .insert({ id: newId(), email, ...row })
        .returning('*');
      return u;
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new TallyError('conflict', 'an account with this e-mail exists', { reason: 'email_taken' });
      throw err;
    }
  }

  async sendVerification(user: Record<string, any>): Promise<void> {
    const token = await issueToken(this.db, { kind: 'verify_email', email: user.email, userId: user.id, ttlMs: VERIFY_TTL });
    const link = `${this.publicUrl}/verify?token=${token}`;
    await this.mail({
      to: user.email,
      subject: 'Verify your e-mail for Tally',
      text: `Open this link to verify your e-mail address:\n\n${link}\n\nIt works for 48 hours.`,
      link,
    });
  }

  async verifyEmail(token: string): Promise<Record<string, any>> {
    const t = await consumeToken(this.db, 'verify_email', token);
    if (!t?.user_id) throw new TallyError('invalid_argument', 'the link is invalid, used or expired', { reason: 'invalid_token' });
    const [u] = await this.db('users').where({ id: t.user_id, email: t.email }).update({ email_verified_at: new Date() }).returning('*');
    if (!u) throw new TallyError('invalid_argument', 'the link is invalid, used or expired', { reason: 'invalid_token' });
    return u;
  }

  /** Always succeeds (says nothing about whether the e-mail has an account). */
  async requestPasswordReset(email: string): Promise<void> {
    const user = await this.userByEmail(email);
    if (!user) return;
    const token = await issueToken(this.db, { kind: 'password_reset', email: user.email, userId: user.id, ttlMs: RESET_TTL });
    const link = `${this.publicUrl}/password-reset?token=${token}`;
    await this.mail({
      to: user.email,
      subject: 'Reset your Tally password',
      text: `Open this link to choose a new password:\n\n${link}\n\nIt works once, for one hour. If you did not ask for it, ignore this message.`,
      link,
    });
  }

  /** Sets the new password and ends every session of the user; returns the user id. */
  async confirmPasswordReset(token: string, password: string, endSessions: (userId: string) => Promise<unknown>): Promise<string> {
    this.checkPassword(password);
    const t = await consumeToken(this.db, 'password_reset', token);
    if (!t?.user_id) throw new TallyError('invalid_argument', 'the link is invalid, used or expired', { reason: 'invalid_token' });
    // whoever can read the mailbox proved they own the address
    await this.db('users')
      .where({ id: t.user_id })
      .update({
        password_hash: await hashPassword(password),
        password_changed_at: new Date(),
        email_verified_at: this.db.raw('coalesce(email_verified_at, now())'),
      });
    await endSessions(t.user_id);
    return t.user_id;
  }

  async setStaff(userId: string, isStaff: boolean): Promise<void> {
    await this.db('users').where({ id: userId }).update({ is_staff: isStaff });
  }
}
