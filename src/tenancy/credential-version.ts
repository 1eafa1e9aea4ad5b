import type { Db } from '../infra/metadata/db.js';
import type { Logger } from '../infra/logger.js';

/**
 * Makes a revoked, rotated or new key count in this process within about a second: polls the
 * metadata DB's credential version (bumped by trigger on every change of a key, property or
 * organisation, from any process) and the next key expiry (rotation grace periods), and reloads
 * the credential cache when either says so. One small query per poll.
 */
export class CredentialVersionWatcher {
  private timer: NodeJS.Timeout | null = null;
  private version: string | null = null;
  private nextExpiry: number | null = null;
  private polling = false;

  constructor(
    private readonly db: Db,
    private readonly reload: () => Promise<void>,
    private readonly opts: { pollMs?: number; log?: Logger } = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check; true when it reloaded. */
  async poll(): Promise<boolean> {
    if (this.polling) return false;
    this.polling = true;
    try {
      const { rows } = await this.db.raw(
        `SELECT (SELECT version FROM credential_version WHERE id = 1)::text AS version,
                (SELECT min(expires_at) FROM api_keys WHERE revoked_at IS NULL AND expires_at > now()) AS next_expiry`,
      );
      const version = rows[0].version as string;
      const expired = this.nextExpiry !== null && Date.now() >= this.nextExpiry;
      const first = this.version === null;
      this.nextExpiry = rows[0].next_expiry ? new Date(rows[0].next_expiry).getTime() : null;
      if (first) {
        // The cache was loaded before this first read: a change committed in between (a plan
        // change or key revocation right after start) is already in `version`, so taking it as the
        // baseline without a reload would miss it until the cache's periodic refresh. Reload once.
        await this.reload();
        this.version = version;
        return true;
      }
      if (version === this.version && !expired) return false;
      await this.reload();
      this.version = version;
      return true;
    } catch (err) {
      this.opts.log?.warn({ err }, 'credential version poll failed');
      return false;
    } finally {
      this.polling = false;
    }
  }
}
