import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * A small in-memory DuckDB that holds no data, for asking DuckDB itself a question (does RE2
 * compile this pattern, what is this statement's parse tree): created on first use, one call at a
 * time on one connection, closed after the calls in flight.
 */
export class ScratchDuckDb {
  private conn: Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: Record<string, string> = {}) {}

  /** Runs `fn` on the connection once every earlier call has finished. */
  run<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      this.conn ??= DuckDBInstance.create(':memory:', { threads: '1', ...this.options }).then(async (instance) => ({
        instance,
        conn: await instance.connect(),
      }));
      return fn((await this.conn).conn);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    if (!c) return;
    await this.tail;
    const { instance, conn } = await c;
    conn.closeSync();
    instance.closeSync();
  }
}
