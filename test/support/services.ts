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
