import { TallyError } from '../../infra/errors.js';
import type { ParsedEvent, RefusedEvent } from '../parsed-event.js';
import { refusal, toMessages, type Problem, type ValidationMessage } from './ga4-mp.findings.js';
import { isObject } from './ga4-mp.fields.js';
import { parseRequest } from './ga4-mp.request.js';
import { parseEvent } from './ga4-mp.event.js';

/**
 * GA4 Measurement Protocol (`/mp/collect`, `/debug/mp/collect`): request body -> ParsedEvents,
 * refused events and GA-style validation messages. Pure; PROTOCOLS.md §1 is the reference.
 * The request-level fields are read by `ga4-mp.request.ts`, each event by `ga4-mp.event.ts`,
 * field checks live in `ga4-mp.fields.ts` and the findings/messages in `ga4-mp.findings.ts`.
 */

export interface Ga4MpParseResult {
  events: ParsedEvent[];
  refused: RefusedEvent[];
  validationMessages: ValidationMessage[];
  /**
   * What `/mp/collect` changes in accepted events without refusing them (a timestamp re-dated
   * into the accepted window); `/debug/mp/collect` reports these with the validation messages.
   */
  notices: ValidationMessage[];
}

/** One decoder for every request: a whole-buffer `decode` (not streaming) starts from a clean state each time. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function parseGa4MpBody(bytes: Buffer): unknown {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch (cause) {
    throw malformed('The body is not valid UTF-8.', 'invalid_utf8', cause);
  }
  // \S is what trim() keeps: finds the first non-blank character without copying the body
  if (!/\S/.test(text)) throw malformed('The body is empty; expected a JSON object.', 'empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw malformed('The body is not valid JSON.', 'syntax', cause);
  }
  if (!isObject(value)) throw malformed('The body must be a JSON object.', 'not_an_object');
  return value;
}

function malformed(message: string, problem: string, cause?: unknown): TallyError {
  return new TallyError('malformed_body', message, { reason: 'invalid_json', problem }, cause ? { cause } : undefined);
}

export function parseGa4Mp(body: unknown, ctx: { receivedAt: number }): Ga4MpParseResult {
  try {
    return parse(body, ctx.receivedAt);
  } catch (error) {
    // Only reachable with non-JSON input (proxies, throwing getters): refuse, never throw.
    const message = error instanceof Error ? error.message : String(error);
    return {
      events: [],
      refused: [{ index: -1, reason: 'invalid', detail: `internal parser error: ${message}`, payload: body }],
      validationMessages: [{ fieldPath: '', description: 'The request could not be read.', validationCode: 'VALUE_INVALID' }],
      notices: [],
    };
  }
}

function parse(body: unknown, receivedAt: number): Ga4MpParseResult {
  if (!isObject(body)) {
    const description = 'The request body must be a JSON object.';
    return {
      events: [],
      refused: [{ index: -1, reason: 'malformed_body', detail: description, payload: body }],
      validationMessages: [{ fieldPath: '', description, validationCode: 'VALUE_INVALID' }],
      notices: [],
    };
  }

  const scope = parseRequest(body);
  const events = body.events;
  const result: Ga4MpParseResult = { events: [], refused: [], validationMessages: [], notices: [] };
  const messages: Problem[] = [...scope.findings.problems];

  if (!Array.isArray(events) || events.length === 0) {
    result.refused.push({ index: -1, ...refusal(scope.findings.problems), payload: body });
    result.validationMessages = toMessages(messages);
    return result;
  }

  events.forEach((raw, index) => {
    const outcome = parseEvent(raw, index, scope, receivedAt);
    messages.push(...outcome.problems);
    const problems = [...scope.findings.problems, ...outcome.problems];
    if (problems.length > 0) result.refused.push({ index, ...refusal(problems), payload: { ...body, events: [raw] } });
    else if (outcome.event) {
      result.events.push(outcome.event);
      if (outcome.notices.length) result.notices.push(...outcome.notices);
    }
  });
  result.validationMessages = toMessages(messages);
  return result;
}
