// Per request: a request id (taken from X-Request-Id or made, and echoed), the route template,
// and on completion one log line and one observation for metrics.
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../application/logger.port';

export interface RequestObservation {
  method: string;
  /** The route template (`/integrations/:id`), never the raw path; `unmatched` when no route matched. */
  route: string;
  status: number;
  durationSeconds: number;
}

export type RequestObserver = (observation: RequestObservation) => void;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Probes and scrapes arrive every few seconds from every replica's kubelet and Prometheus: keep them at debug.
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** First handler of every route: records which template matched, for logs and metric labels. */
export const tagRoute: RequestHandler = (req, res, next) => {
  const path = req.route?.path === '/' && req.baseUrl ? '' : (req.route?.path ?? '');
  res.locals.route = `${req.baseUrl}${path}`;
  next();
};

export function requestContext(logger: Logger, observe?: RequestObserver): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);

    let done = false;
    const complete = (aborted: boolean): void => {
      if (done) return;
      done = true;
      const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const observation = observationOf(req, res, durationSeconds);
      observe?.(observation);
      const level = QUIET_ROUTES.has(observation.route) && observation.status < 500 ? 'debug' : 'info';
      logger[level]('request', {
        requestId,
        method: observation.method,
        route: observation.route,
        path: req.originalUrl.split('?')[0],
        status: observation.status,
        durationMs: Math.round(durationSeconds * 1e6) / 1e3,
        ...(aborted ? { aborted: true } : {}),
      });
    };
    res.on('finish', () => complete(false));
    res.on('close', () => complete(!res.writableFinished));
    next();
  };
}

function observationOf(req: Request, res: Response, durationSeconds: number): RequestObservation {
  return { method: req.method, route: (res.locals.route as string | undefined) ?? 'unmatched', status: res.statusCode, durationSeconds };
}
