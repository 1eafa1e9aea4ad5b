import type { ParamValue } from '../../domain/raw-event.js';
import { setOwn } from './own-property.js';

export interface ParamValueRules {
  /** Levels of arrays and objects below the value; deeper is refused (undefined). */
  maxDepth: number;
  /**
   * What a value JSON cannot carry becomes (a non-finite number, undefined, a function): GA4 MP
   * refuses it (undefined), Segment keeps the key as null.
   */
  unrepresentable: null | undefined;
}

/**
 * A JSON-safe copy of a protocol value with own properties only (`setOwn`: a `__proto__` key is
 * data, never a prototype), or undefined when it is refused.
 */
export function toParamValue(v: unknown, rules: ParamValueRules, depth = 0): ParamValue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : rules.unrepresentable;
  if (v === undefined) return rules.unrepresentable;
  if (depth >= rules.maxDepth) return undefined;
  if (Array.isArray(v)) {
    const out: ParamValue[] = [];
    for (let i = 0; i < v.length; i++) {
      const c = toParamValue(v[i], rules, depth + 1);
      if (c === undefined) return undefined;
      out.push(c);
    }
    return out;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, ParamValue> = {};
    for (const k of Object.keys(o)) {
      const c = toParamValue(o[k], rules, depth + 1);
      if (c === undefined) return undefined;
      setOwn(out, k, c);
    }
    return out;
  }
  return rules.unrepresentable;
}
