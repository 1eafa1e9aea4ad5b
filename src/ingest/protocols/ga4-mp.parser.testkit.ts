import { expect } from 'vitest';
import type { ValidationMessage } from './ga4-mp.findings.js';
import { parseGa4Mp, type Ga4MpParseResult } from './ga4-mp.parser.js';

/** Shared requests and assertions for the GA4 Measurement Protocol parser tests. */
export const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
export const HOUR = 3_600_000;
export const ENFORCE = { validation_behavior: 'ENFORCE_RECOMMENDATIONS' } as const;

export type Body = Record<string, unknown>;

export function parse(body: unknown): Ga4MpParseResult {
  return parseGa4Mp(body, { receivedAt: NOW });
}

/** A valid request with one event per given params object. */
export function req(extra: Body = {}, ...eventParams: Array<Record<string, unknown>>): Body {
  const events = (eventParams.length ? eventParams : [{}]).map((params, i) => ({ name: `event_${i}`, params }));
  return { client_id: '123.456', events, ...extra };
}

export function accepted(body: unknown) {
  const r = parse(body);
  expect(r.refused).toEqual([]);
  expect(r.validationMessages).toEqual([]);
  return r.events;
}

export function one(body: unknown) {
  const events = accepted(body);
  expect(events).toHaveLength(1);
  return events[0];
}

export function msg(fieldPath: string, validationCode: ValidationMessage['validationCode']) {
  return expect.objectContaining({ fieldPath, validationCode });
}

export function refusedOnly(body: unknown, fieldPath: string, code: ValidationMessage['validationCode']) {
  const r = parse(body);
  expect(r.events).toEqual([]);
  expect(r.validationMessages).toContainEqual(msg(fieldPath, code));
  return r;
}

export const repeat = (n: number, ch = 'a') => ch.repeat(n);
export const paramsOf = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i]));
