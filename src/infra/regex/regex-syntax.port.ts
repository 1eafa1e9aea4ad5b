/**
 * The regex syntax port: whether a pattern compiles under RE2, the syntax GA4 documents for
 * FULL_REGEXP / PARTIAL_REGEXP filters. Implemented by `re2-syntax.ts` (an in-memory DuckDB).
 */
export interface RegexSyntax {
  /** null when RE2 compiles `pattern`, else RE2's complaint. */
  check(pattern: string): Promise<string | null>;
  close(): Promise<void>;
}
