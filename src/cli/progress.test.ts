import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressBar } from './progress.js';

describe('progress bar', () => {
  it('counts whole units by name, and starts a new bar when the unit changes', () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    let out = '';
    tty.on('data', (d) => (out += d));
    const bar = progressBar('pipeline', tty as unknown as NodeJS.WriteStream);
    bar.update(3, 10, 'dates');
    bar.update(10, 10, 'dates');
    bar.update(7, 21, 'partitions');
    bar.stop();
    expect(out).toContain('10/10 dates');
    expect(out).toContain('7/21 partitions');
    expect(out).not.toMatch(/\d\.\d+\//);
  });

  it('prints nothing when stderr is not a terminal', () => {
    const pipe = Object.assign(new PassThrough(), { isTTY: false });
    let out = '';
    pipe.on('data', (d) => (out += d));
    const bar = progressBar('x', pipe as unknown as NodeJS.WriteStream);
    bar.update(1, 2, 'events');
    bar.stop();
    expect(out).toBe('');
  });
});
