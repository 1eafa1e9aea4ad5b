import { describe, it } from 'vitest';

/**
 * The one rule for tests that need a real service started by `scripts/services up`: the service's
 * address comes from an env var (`eval "$(scripts/services env)"`). Locally a missing var skips the
 * suite with the reason in its name; under CI=true it fails, so a cloud adapter is never silently
 * left untested.
 */
export function requireService(name: string, envVar: string): string | null {
  const value = process.env[envVar];
  if (value !== undefined && value !== '') return value;
  if (process.env.CI === 'true') {
    throw new Error(`${envVar} not set: run scripts/services up (needed by the ${name} tests)`);
  }
  return null;
}

/**
 * `describe(title, () => body(value))` when the service is configured; otherwise a skipped suite
 * whose name says why, or, under CI=true, a suite whose one test fails with the reason.
 */
export function describeWithService(title: string, name: string, envVar: string, body: (value: string) => void): void {
  let value: string | null;
  try {
    value = requireService(name, envVar);
  } catch (e) {
    describe(title, () => {
      it(`needs the ${name} service`, () => {
        throw e;
      });
    });
    return;
  }
  if (value === null) {
    const reason = `${envVar} not set: run scripts/services up ${name}`;
    // The default reporter names skipped files, not suites; say why on stderr too.
    console.warn(`skipping "${title}": ${reason}`);
    describe.skip(`${title} (skipped: ${reason})`, () => {
      it(`needs the ${name} service`, () => undefined);
    });
    return;
  }
  describe(title, () => body(value));
}

/**
 * stripe-mock (`scripts/services up stripe`): the Stripe settings of the env, or null (skipped
 * locally, failing under CI=true through `describeWithService`'s rule).
 */
export function stripeMockEnv(): { apiBase: string; secretKey: string; webhookSecret: string } | null {
  const apiBase = process.env.STRIPE_API_BASE;
  if (!apiBase) return null;
  return { apiBase, secretKey: process.env.STRIPE_SECRET_KEY || 'sk_test_tally', webhookSecret: process.env.STRIPE_WEBHOOK_SECRET || 'whsec_tally_test' };
}
