import type { DuckDBConnection } from '@duckdb/node-api';
import { ScratchDuckDb } from '../scratch-duckdb.js';
import type { RegexSyntax } from './regex-syntax.port.js';

/**
 * Checks regular expressions with RE2's syntax, which is what GA4 documents for FULL_REGEXP /
 * PARTIAL_REGEXP and what DuckDB runs. JavaScript's RegExp is no judge: it accepts lookaround
 * (`(?=a)x`, `(?<!a)b`) and `a{1001}`, which RE2 refuses, and refuses `(?i)a`, which RE2 takes.
 * The `re2` npm package needs Node ≥ 22, so the pattern is compiled by a small in-memory DuckDB
 * (RE2 inside), once per distinct pattern.
 */
export type { RegexSyntax };

const CACHE_SIZE = 1_000;

export class DuckDbRe2Syntax implements RegexSyntax {
  private readonly duck = new ScratchDuckDb();
  private readonly cache = new Map<string, string | null>();

  async check(pattern: string): Promise<string | null> {
    const hit = this.cache.get(pattern);
    if (hit !== undefined) return hit;
    const verdict = await this.duck.run((conn) => compile(conn, pattern));
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(pattern, verdict);
    return verdict;
  }

  close(): Promise<void> {
    return this.duck.close();
  }
}

async function compile(conn: DuckDBConnection, pattern: string): Promise<string | null> {
  try {
    await conn.run("SELECT regexp_matches('', $1)", [pattern]);
    return null;
  } catch (err) {
    const message = (err as Error).message;
    // only RE2's verdict is a verdict; anything else is the checker failing
    if (!/^Invalid Input Error/.test(message)) throw err;
    return message.replace(/^Invalid Input Error:\s*/, '');
  }
}
