import type { ParamType, SqlDialect } from './sql-dialect.js';

/** A query's bound values, numbered in the dialect's placeholder syntax as they are added. */
export class Params {
  readonly values: unknown[] = [];
  constructor(private readonly d: SqlDialect) {}
  add(value: unknown, type: ParamType): string {
    this.values.push(value);
    return this.d.param(this.values.length, type);
  }
}
