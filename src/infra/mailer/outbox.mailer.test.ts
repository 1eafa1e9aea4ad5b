import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutboxMailer, readOutbox } from './outbox.mailer.js';

describe('OutboxMailer', () => {
  it('writes one .eml per message, readable back, with no header injection from user values', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tally-outbox-')), 'outbox');
    const lines: unknown[] = [];
    const log = { info: (o: unknown) => lines.push(o) } as never;
    const m = new OutboxMailer(dir, 'Tally <no-reply@t.test>', log);
    await m.send({ to: 'a@b.test\r\nBcc: evil@x.test', subject: 'Verify', text: 'Open http://x/verify?token=abc\nThanks', link: 'http://x/verify?token=abc' });
    await m.send({ to: 'c@d.test', subject: 'Second', text: 'two' });
    const msgs = readOutbox(dir);
    expect(msgs.map((x) => x.subject)).toEqual(['Verify', 'Second']);
    expect(msgs[0].to).toBe('a@b.test Bcc: evil@x.test');
    expect(msgs[0].body).toContain('token=abc');
    expect(fs.readFileSync(path.join(dir, msgs[0].file), 'utf8')).not.toMatch(/^Bcc:/m);
    expect(lines).toEqual([expect.objectContaining({ subject: 'Verify', link: 'http://x/verify?token=abc' }), expect.objectContaining({ subject: 'Second' })]);
    expect(fs.statSync(path.join(dir, msgs[0].file)).mode & 0o777).toBe(0o600);
  });
});
