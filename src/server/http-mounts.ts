import type http from 'node:http';
import express from 'express';
import { TallyError } from '../infra/errors.js';
import { sendErrorBody } from '../infra/error-body.js';

/**
 * Where modules put their HTTP endpoints; the `http` module serves them all on one port: bare
 * node:http handlers first (the collector: Express costs ~5x its request rate), then the Express
 * app of the API routers, then a JSON 404.
 */
export class HttpMounts {
  private readonly handlers: ((req: http.IncomingMessage, res: http.ServerResponse) => boolean)[] = [];
  private readonly drains: (() => void)[] = [];
  private express: express.Express | null = null;

  /** A handler that answers the paths it owns and returns false for the rest; `drain` stops it taking new work. */
  handle(handler: (req: http.IncomingMessage, res: http.ServerResponse) => boolean, drain?: () => void): void {
    this.handlers.push(handler);
    if (drain) this.drains.push(drain);
  }

  /** The Express app for API routers, created on first use. */
  app(): express.Express {
    if (!this.express) {
      this.express = express();
      this.express.disable('x-powered-by');
    }
    return this.express;
  }

  /** The Express app when some module created it, else null. */
  appIfAny(): express.Express | null {
    return this.express;
  }

  get empty(): boolean {
    return !this.handlers.length && !this.express;
  }

  serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    for (const h of this.handlers) if (h(req, res)) return;
    if (this.express) return void this.express(req, res);
    sendErrorBody(res, new TallyError('not_found', 'no such endpoint'));
  }

  drain(): void {
    for (const d of this.drains) d();
  }
}
