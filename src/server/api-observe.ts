import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../infra/logger.js';
import { metrics } from '../infra/metrics/metrics.js';

// report latency by method; tenant SQL (`/v1/sql`) counts as the method `sql`
const REPORT = /^\/v1(?:beta|alpha)\/properties\/[^/:]+(?::(runReport|batchRunReports|checkCompatibility|runFunnelReport)|\/(metadata))$|^\/v1\/(sql)$/;

/** API requests: each logged at debug (path only: no query, no body), report latency by method. */
export function observeApiRequests(log: Logger) {
  const debug = log.isLevelEnabled('debug');
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.once('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      const m = REPORT.exec(req.path);
      if (m) metrics.report(m[1] ?? m[2] ?? m[3], res.statusCode, seconds);
      if (debug) log.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'api request');
    });
    next();
  };
}
