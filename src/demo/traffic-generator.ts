import { createContext, planDay, type TrafficOptions } from './traffic-model.js';
// the options live beside their resolution (traffic-model.ts); callers import them from here too
export type { TrafficOptions } from './traffic-model.js';
import { expandSession, sessionEventIds, withinWindow, type ModelEvent, type SessionModel } from './traffic-sessions.js';

/** One event in Tally's native batch format (the body items of `POST /v1/collect`). */
export interface NativeEvent {
  /** The client's id; a duplicate is the same event sent twice with the same event_id. */
  event_id?: string;
  name: string;
  client_id: string;
  user_id?: string;
  /** GA-style: epoch seconds of the session start; only some visitors' clients send one. */
  session_id?: string;
  /** Epoch ms of the event; for a late event well before the time it is sent. */
  timestamp: number;
  url?: string;
  referrer?: string;
  title?: string;
  user_agent?: string;
  ip?: string;
  language?: string;
  screen?: string;
  params?: Record<string, string | number | boolean>;
}

export interface TrafficItem {
  event: NativeEvent;
  /** Epoch ms at which to send the event: its timestamp for live events, later for late ones and resends. */
  sendAt: number;
}

/**
 * A session whose events are not all sent yet (`resend` null), or one event due a second send.
 * Events are built only when due, so pending work is a few sessions, not their events.
 */
interface Pending {
  sendAt: number;
  seq: number;
  session: SessionModel;
  ids: string[];
  next: number;
  resend: NativeEvent | null;
}

/** Min-heap by (sendAt, push order), so equal send times come out deterministically. */
class SendQueue {
  private items: Pending[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  peekSendAt(): number {
    return this.items.length > 0 ? this.items[0].sendAt : Infinity;
  }

  push(p: Omit<Pending, 'seq'>): void {
    const h = this.items;
    const item = p as Pending;
    item.seq = this.seq++;
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = item;
  }

  pop(): Pending {
    const h = this.items;
    const top = h[0];
    const last = h.pop() as Pending;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(h[c + 1], h[c])) c++;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: Pending, b: Pending): boolean {
  return a.sendAt < b.sendAt || (a.sendAt === b.sendAt && a.seq < b.seq);
}

function toNative(s: SessionModel, e: ModelEvent, eventId: string): NativeEvent {
  const v = s.visitor;
  const ev: NativeEvent = {
    event_id: eventId,
    name: e.name,
    client_id: v.clientId,
    timestamp: e.ts,
    url: e.url,
    title: e.title,
    user_agent: v.ua,
    ip: v.ip,
    language: v.language,
  };
  if (v.userId) ev.user_id = v.userId;
  if (s.clientSessionId) ev.session_id = s.clientSessionId;
  if (e.referrer) ev.referrer = e.referrer;
  if (v.screen) ev.screen = v.screen;
  if (e.params) ev.params = { ...e.params };
  return ev;
}

/** Sends the next due event and puts back what remains of its session. */
function release(queue: SendQueue, p: Pending): TrafficItem {
  if (p.resend) return { event: p.resend, sendAt: p.sendAt };
  const s = p.session;
  const e = s.events[p.next];
  const event = toNative(s, e, p.ids[p.next]);
  const sendAt = p.sendAt;
  if (e.resendDelayMs > 0) {
    const again: NativeEvent = { ...event };
    if (event.params) again.params = { ...event.params };
    queue.push({ sendAt: sendAt + e.resendDelayMs, session: s, ids: p.ids, next: p.next, resend: again });
  }
  p.next++;
  if (p.next < s.events.length) {
    p.sendAt = s.events[p.next].ts + s.sendDelayMs;
    queue.push(p);
  }
  return { event, sendAt };
}

/**
 * Streams the dataset in send order (non-decreasing `sendAt`). Memory stays bounded by the
 * sessions in flight plus the late sessions and resends not yet due, never the whole dataset:
 * an event is released as soon as no later-starting session can precede it.
 */
export function* generateTraffic(opts: TrafficOptions): Generator<TrafficItem> {
  const ctx = createContext(opts);
  const queue = new SendQueue();
  for (let d = 0; d < ctx.opts.days; d++) {
    for (const plan of planDay(ctx, d)) {
      // every event of this and later sessions happens (and is sent) no earlier than plan.startMs
      while (queue.peekSendAt() < plan.startMs) yield release(queue, queue.pop());
      const s = expandSession(ctx, plan);
      if (s.events.length === 0 || !withinWindow(ctx, s)) continue;
      const ids = sessionEventIds(ctx, d, plan.index, s.events.length);
      queue.push({ sendAt: s.events[0].ts + s.sendDelayMs, session: s, ids, next: 0, resend: null });
    }
  }
  while (queue.size > 0) yield release(queue, queue.pop());
}
