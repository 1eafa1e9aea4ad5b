import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { MailMessage, Mailer } from './mailer.port.js';

/**
 * Without SMTP: each message becomes an RFC 5322 `.eml` file in `dir` (any mail client opens it),
 * and its subject and link are logged so a developer can follow the link from the console output.
 */
export class OutboxMailer implements Mailer {
  constructor(
    private readonly dir: string,
    private readonly from: string,
    private readonly log?: Logger,
  ) {}

  async send(m: MailMessage): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const now = new Date();
    const id = `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`;
    const eml = [
      `From: ${header(this.from)}`,
      `To: ${header(m.to)}`,
      `Subject: ${header(m.subject)}`,
      `Date: ${now.toUTCString()}`,
      `Message-ID: <${id}@tally.outbox>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      m.text.replace(/\r?\n/g, '\r\n'),
      '',
    ].join('\r\n');
    const file = path.join(this.dir, `${id}.eml`);
    // written aside and renamed so a reader never sees half a message
    await fs.promises.writeFile(file + '.tmp', eml, { mode: 0o600 });
    await fs.promises.rename(file + '.tmp', file);
    this.log?.info({ to: m.to, subject: m.subject, link: m.link, file }, 'e-mail written to the outbox');
  }

  async close(): Promise<void> {}
}

/** Header values on one line: a newline in a user-given value must not add headers. */
function header(v: string): string {
  return v.replace(/[\r\n]+/g, ' ');
}

/** The messages in an outbox, oldest first (for tests and the CLI). */
export function readOutbox(dir: string): { file: string; to: string; subject: string; body: string }[] {
  let names: string[];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.eml'))
      .sort();
  } catch {
    return [];
  }
  return names.map((n) => {
    const raw = fs.readFileSync(path.join(dir, n), 'utf8');
    const split = raw.indexOf('\r\n\r\n');
    const head = raw.slice(0, split);
    const get = (h: string) => new RegExp(`^${h}: (.*)$`, 'mi').exec(head)?.[1] ?? '';
    return { file: n, to: get('To'), subject: get('Subject'), body: raw.slice(split + 4) };
  });
}
