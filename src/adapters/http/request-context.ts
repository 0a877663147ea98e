// Per request: a request id (taken from X-Request-Id or made, and echoed), the route template,
// and on completion one log line and one observation for metrics.
import { randomUUID } from 'node:crypto';
import { METHODS, type IncomingMessage, type ServerResponse } from 'node:http';
import type { IRoute, RequestHandler, Router } from 'express';
import type { Logger } from '../../application/logger.port';

export interface RequestObservation {
  method: string;
  /** The route's fixed name (`/integrations/:id`, for both prefixes), never the raw path; `unmatched` when no route matched. */
  route: RouteName | 'unmatched';
  status: number;
  durationSeconds: number;
}

export type RequestObserver = (observation: RequestObservation) => void;

/**
 * A request as this adapter's shared pieces see it: Node's, which Express's extends. The direct read
 * (direct-read.ts) hands them Node's own; `originalUrl` is there only when Express routed the request.
 */
export type HttpRequest = IncomingMessage & { originalUrl?: string };
/** A response with the per-request context (`locals`: request id, route name, principal), as Express's has. */
export type HttpResponse = ServerResponse & { locals: Record<string, unknown> };

/** The path and query the client asked for (Express's `originalUrl`, kept when a router strips a mount path). */
export const requestTarget = (req: HttpRequest): string => req.originalUrl ?? req.url ?? '/';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Probes and scrapes arrive every few seconds from every replica's kubelet and Prometheus: keep them at debug.
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Every route the service has, by the name its logs and metric labels carry. The label is one of these
 * whatever the case or spelling of the URL (Express matches paths case-insensitively), or `unmatched`:
 * metric series are bounded by construction.
 */
export const ROUTE_NAMES = [
  '/integrations',
  '/integrations/:id',
  '/integrations/ensure-defaults',
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
  '/docs',
  '/docs/init.js',
  '/docs/assets/:file',
] as const;
export type RouteName = (typeof ROUTE_NAMES)[number];

const KNOWN_METHODS = new Set(METHODS);

type Handler = RequestHandler;
type Methods = 'get' | 'put' | 'patch' | 'post' | 'all';

/** A route declared under its fixed name; each method's first handler records the name (no extra layer). */
export type NamedRoute = { [M in Methods]: (...handlers: Handler[]) => NamedRoute };

/**
 * Declares a route under its fixed name: the only way routes are added, so none goes unnamed. `path` may
 * list several paths (both API prefixes) for one route.
 */
export function namedRoute(router: Router, name: RouteName, path: string | string[]): NamedRoute {
  const route: IRoute = router.route(path as string);
  const tag = (first: Handler): Handler =>
    function namedRouteTag(req, res, next) {
      tagRoute(res, name);
      return first(req, res, next);
    };
  const named = {} as NamedRoute;
  for (const method of ['get', 'put', 'patch', 'post', 'all'] as const) {
    named[method] = (first, ...rest) => {
      route[method](tag(first), ...rest);
      return named;
    };
  }
  return named;
}

/** Records which route answers a request: its log line and metric label carry the name. */
export function tagRoute(res: HttpResponse, name: RouteName): void {
  res.locals.route = name;
}

/** Starts a request's context: its id, and on completion its log line and its observation. */
export function requestTracker(logger: Logger, observe?: RequestObserver): (req: HttpRequest, res: HttpResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);

    // 'close' follows every response, once, sent or not (one listener instead of 'finish' and 'close').
    res.on('close', () => {
      const durationMs = performance.now() - started;
      const observation = observationOf(req, res, durationMs / 1e3);
      observe?.(observation);
      const level = QUIET_ROUTES.has(observation.route) && observation.status < 500 ? 'debug' : 'info';
      const url = requestTarget(req);
      const query = url.indexOf('?');
      const fields: Record<string, unknown> = {
        requestId,
        method: observation.method,
        route: observation.route,
        path: query < 0 ? url : url.slice(0, query),
        status: observation.status,
        durationMs: Math.round(durationMs * 1e3) / 1e3,
      };
      if (!res.writableFinished) fields.aborted = true;
      logger[level]('request', fields);
    });
  };
}

function observationOf(req: HttpRequest, res: HttpResponse, durationSeconds: number): RequestObservation {
  // Node's parser admits only the methods it knows; the guard keeps the label set closed whatever it admits.
  const method = req.method !== undefined && KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
  return { method, route: (res.locals.route as RouteName | undefined) ?? 'unmatched', status: res.statusCode, durationSeconds };
}
