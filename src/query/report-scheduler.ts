import { TallyError } from '../infra/errors.js';

export interface ReportSchedulerLimits {
  /** Reports running at once in this process, all tenants together. */
  concurrency: number;
  /** Reports of one tenant running at once. */
  perTenant: number;
  /** Reports of one tenant waiting for a slot; one more is refused (RESOURCE_EXHAUSTED). */
  queuePerTenant: number;
}

interface Waiter {
  start: () => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

interface TenantLane {
  running: number;
  queue: Waiter[];
}

/**
 * The fair queue in front of the warehouse: at most `concurrency` reports run at once, at most
 * `perTenant` of them for one tenant, and a freed slot goes to the next tenant in turn that has
 * one waiting (round robin), not to whoever queued most. So six heavy reports of one tenant
 * occupy at most `perTenant` slots, and another tenant's report starts as soon as any other slot
 * is free. A report that cannot start before its deadline fails with DEADLINE_EXCEEDED; a tenant
 * with `queuePerTenant` reports already waiting gets RESOURCE_EXHAUSTED at once.
 */
export class ReportScheduler {
  private running = 0;
  private readonly lanes = new Map<string, TenantLane>();
  /** Tenants in turn order; the next free slot is offered from `next` onwards. */
  private order: string[] = [];
  private next = 0;

  constructor(private readonly limits: ReportSchedulerLimits) {
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < (k === 'queuePerTenant' ? 0 : 1)) throw new RangeError(`ReportScheduler: ${k} must be a positive integer`);
    }
  }

  /** Runs `fn` when a slot is free for `tenant`; `deadline` is epoch ms. */
  run<T>(tenant: string, fn: () => Promise<T>, deadline: number): Promise<T> {
    const lane = this.lane(tenant);
    if (lane.queue.length === 0 && this.canStart(lane)) return this.start(tenant, lane, fn);
    if (lane.queue.length >= this.limits.queuePerTenant) {
      return Promise.reject(
        new TallyError(
          'rate_limited',
          `Too many concurrent requests for this property: ${lane.running} running and ${lane.queue.length} waiting. Retry later.`,
          { reason: 'concurrent_requests', retryAfterMs: 1_000 },
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => void this.start(tenant, lane, fn).then(resolve, reject),
        reject,
        timer: undefined,
      };
      const wait = deadline - Date.now();
      waiter.timer = setTimeout(
        () => {
          const i = lane.queue.indexOf(waiter);
          if (i >= 0) lane.queue.splice(i, 1);
          this.forget(tenant, lane);
          reject(
            new TallyError('deadline_exceeded', 'The report did not start before its deadline: the property has too many reports running.', {
              reason: 'queued_too_long',
            }),
          );
        },
        Math.max(0, wait),
      );
      waiter.timer.unref?.();
      lane.queue.push(waiter);
    });
  }

  /** For tests and metrics: reports running and waiting, per tenant. */
  stats(): { running: number; tenants: Record<string, { running: number; waiting: number }> } {
    const tenants: Record<string, { running: number; waiting: number }> = {};
    for (const [t, l] of this.lanes) tenants[t] = { running: l.running, waiting: l.queue.length };
    return { running: this.running, tenants };
  }

  private lane(tenant: string): TenantLane {
    let lane = this.lanes.get(tenant);
    if (!lane) {
      lane = { running: 0, queue: [] };
      this.lanes.set(tenant, lane);
      this.order.push(tenant);
    }
    return lane;
  }

  private canStart(lane: TenantLane): boolean {
    return this.running < this.limits.concurrency && lane.running < this.limits.perTenant;
  }

  private async start<T>(tenant: string, lane: TenantLane, fn: () => Promise<T>): Promise<T> {
    this.running++;
    lane.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      lane.running--;
      this.forget(tenant, lane);
      this.dispatch();
    }
  }

  /** Offers free slots to waiting tenants in turn. */
  private dispatch(): void {
    while (this.running < this.limits.concurrency && this.order.length > 0) {
      let started = false;
      for (let k = 0; k < this.order.length; k++) {
        const i = (this.next + k) % this.order.length;
        const tenant = this.order[i];
        const lane = this.lanes.get(tenant)!;
        if (lane.queue.length === 0 || lane.running >= this.limits.perTenant) continue;
        const waiter = lane.queue.shift()!;
        clearTimeout(waiter.timer);
        this.next = (i + 1) % this.order.length;
        waiter.start();
        started = true;
        break;
      }
      if (!started) return;
    }
  }

  /** Drops an idle tenant's lane, so the map does not grow with every tenant ever seen. */
  private forget(tenant: string, lane: TenantLane): void {
    if (lane.running > 0 || lane.queue.length > 0) return;
    this.lanes.delete(tenant);
    const i = this.order.indexOf(tenant);
    if (i >= 0) {
      this.order.splice(i, 1);
      if (this.next > i) this.next--;
      if (this.next >= this.order.length) this.next = 0;
    }
  }
}
