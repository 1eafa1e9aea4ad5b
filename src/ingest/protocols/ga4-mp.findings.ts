import type { DeadLetterReason, ParamValue } from '../../domain/raw-event.js';
import { GA4_MP_LIMITS as LIMITS } from './ga4-mp.limits.js';
import { toParamValue as toParamValueBy, type ParamValueRules } from './param-value.js';

/**
 * GA4 Measurement Protocol validation: what one scope (the request, or one event) found wrong,
 * what it dropped, and how those findings become refusals and GA-style validation messages.
 */

export type ValidationCode =
  'VALUE_INVALID' | 'VALUE_REQUIRED' | 'NAME_INVALID' | 'NAME_RESERVED' | 'VALUE_OUT_OF_BOUNDS' | 'EXCEEDED_MAX_ENTITIES' | 'NAME_DUPLICATED';

export interface ValidationMessage {
  fieldPath: string;
  description: string;
  validationCode: ValidationCode;
}

export type Ga4MpValidationBehavior = 'RELAXED' | 'ENFORCE_RECOMMENDATIONS';

export interface Problem extends ValidationMessage {
  reason: DeadLetterReason;
}

const REASON: Record<ValidationCode, DeadLetterReason> = {
  VALUE_INVALID: 'invalid',
  VALUE_REQUIRED: 'invalid',
  NAME_INVALID: 'invalid',
  NAME_DUPLICATED: 'invalid',
  NAME_RESERVED: 'name_reserved',
  VALUE_OUT_OF_BOUNDS: 'over_limit',
  EXCEEDED_MAX_ENTITIES: 'over_limit',
};

/** Problems found in one scope (the request, or one event) and what was dropped from it. */
export class Findings {
  readonly problems: Problem[] = [];
  readonly dropped: Array<[string, ParamValue]> = [];
  readonly notices: ValidationMessage[] = [];

  constructor(readonly mode: Ga4MpValidationBehavior) {}

  /** A change made to an accepted event, for `/debug/mp/collect` to report. */
  notice(fieldPath: string, description: string, validationCode: ValidationCode): void {
    this.notices.push({ fieldPath, description, validationCode });
  }

  fail(fieldPath: string, description: string, validationCode: ValidationCode): void {
    this.problems.push({ fieldPath, description, validationCode, reason: REASON[validationCode] });
  }

  /** Over a GA limit: RELAXED keeps the event and records the value here; ENFORCE refuses. */
  overLimit(fieldPath: string, description: string, validationCode: ValidationCode, value: unknown): void {
    if (this.mode === 'ENFORCE_RECOMMENDATIONS') this.fail(fieldPath, description, validationCode);
    else this.keep(fieldPath, value);
  }

  /** Records a value that has no place of its own in the event any more. */
  keep(fieldPath: string, value: unknown): void {
    const v = toParamValue(value);
    if (v === undefined) this.fail(fieldPath, `Value of [${fieldPath}] is nested too deeply or not JSON.`, 'VALUE_INVALID');
    else this.dropped.push([fieldPath, v]);
  }
}

export function refusal(problems: Problem[]): { reason: DeadLetterReason; detail: string } {
  const detail = problems
    .slice(0, 10)
    .map((p) => `${p.fieldPath || '(body)'}: ${p.description}`)
    .join('; ');
  return { reason: problems[0]?.reason ?? 'invalid', detail };
}

export function toMessages(problems: Problem[]): ValidationMessage[] {
  const seen = new Set<string>();
  const out: ValidationMessage[] = [];
  for (const { fieldPath, description, validationCode } of problems) {
    const key = `${fieldPath}\u0000${validationCode}\u0000${description}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ fieldPath, description, validationCode });
    if (out.length >= LIMITS.maxValidationMessages) break;
  }
  return out;
}

/** A JSON-safe copy with own properties only; undefined when too deep or not JSON. */
const GA4_PARAM_RULES: ParamValueRules = { maxDepth: LIMITS.maxNestingDepth, unrepresentable: undefined };
export const toParamValue = (v: unknown): ParamValue | undefined => toParamValueBy(v, GA4_PARAM_RULES);

export function cloneParam(v: ParamValue): ParamValue {
  return toParamValue(v) as ParamValue;
}
