/**
 * Why a user-written regular expression is refused, or null. It must compile (case-insensitive,
 * as every rule matches), be at most `maxLength` long, use no backreference and not nest a
 * quantifier inside a quantified group (`(a+)+`, `(\w*)*`: the classic catastrophic-backtracking
 * shapes; a heuristic, not a proof, for patterns matched against bounded strings).
 */
export function regexProblem(source: string, maxLength: number): string | null {
  if (source.length === 0 || source.length > maxLength) return `1 to ${maxLength} characters`;
  try {
    new RegExp(source, 'i');
  } catch {
    return 'not a valid regular expression';
  }
  if (/\\[1-9]|\\k</.test(source)) return 'backreferences are not allowed';
  if (/\([^()]*[+*}][^()]*\)\s*[+*{?]/.test(source)) return 'a quantified group holding a quantifier (catastrophic backtracking)';
  return null;
}
