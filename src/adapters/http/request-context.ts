// Per request: the server's request id (made here, always, and echoed; a client's X-Request-Id is kept apart as
// clientRequestId), the name of the route that answers, and on completion one log line and one observation.
import { randomUUID } from 'node:crypto';
import { METHODS, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../application/logger.port';

export interface RequestObservation {
  method: string;
  /** The route's fixed name (`/integrations/:id`, for both prefixes), never the raw path; `unmatched` when no route matched. */
  route: RouteName | 'unmatched';
  status: number;
  durationSeconds: number;
}

export type RequestObserver = (observation: RequestObservation) => void;

/** A request as this adapter's pieces see it: Node's, which Express's extends. */
export type HttpRequest = IncomingMessage & { originalUrl?: string };
/** A request a route matched: its path's parameters. */
export type RouteRequest = HttpRequest & { params: Record<string, string> };
/** A response with the per-request context (`locals`: request id, route name, principal), as Express's has. */
export type HttpResponse = ServerResponse & { locals: Record<string, unknown> };

/** The path and query the client asked for (Express's `originalUrl`, kept when a router strips a mount path). */
export const requestTarget = (req: HttpRequest): string => req.originalUrl ?? req.url ?? '/';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Every route the service has, by the name its logs and metric labels carry. The label is one of these
 * whatever the case or spelling of the URL (Express matches paths case-insensitively), or `unmatched`:
 * metric series are bounded by construction. The route table (route-table.ts) declares each exactly once.
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

/** Records which route answers a request: its log line and metric label carry the name. */
export function tagRoute(res: HttpResponse, name: RouteName): void {
  res.locals.route = name;
}

/** Starts a request's context: its id, and on completion its log line and its observation. */
export function requestTracker(logger: Logger, observe?: RequestObserver, quiet: ReadonlySet<string> = new Set()): (req: HttpRequest, res: HttpResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const requestId = randomUUID();
    res.locals.requestId = requestId;
    const incoming = req.headers['x-request-id'];
    const clientRequestId = typeof incoming === 'string' && CLIENT_REQUEST_ID.test(incoming) ? incoming : undefined;
    if (clientRequestId !== undefined) res.locals.clientRequestId = clientRequestId;
    res.setHeader('X-Request-Id', requestId);

    // 'close' follows every response, once, sent or not (one listener instead of 'finish' and 'close').
    res.on('close', () => {
      const durationMs = performance.now() - started;
      const observation = observationOf(req, res, durationMs / 1e3);
      observe?.(observation);
      logRequest(logger, quiet, observation, requestTarget(req), requestId, clientRequestId, durationMs, !res.writableFinished);
    });
  };
}

/** The one request log line: id, method, route, path (never the query), status, duration. */
export function logRequest(
  logger: Logger,
  quiet: ReadonlySet<string>,
  observation: RequestObservation,
  url: string,
  requestId: string,
  clientRequestId: string | undefined,
  durationMs: number,
  aborted: boolean,
): void {
  // Probes and scrapes arrive every few seconds from every replica's kubelet and Prometheus: keep them at debug.
  const level = quiet.has(observation.route) && observation.status < 500 ? 'debug' : 'info';
  const query = url.indexOf('?');
  const fields: Record<string, unknown> = {
    requestId,
    method: observation.method,
    route: observation.route,
    path: query < 0 ? url : url.slice(0, query),
    status: observation.status,
    durationMs: Math.round(durationMs * 1e3) / 1e3,
  };
  if (clientRequestId !== undefined) fields.clientRequestId = clientRequestId;
  if (aborted) fields.aborted = true;
  logger[level]('request', fields);
}

/** Set on a response whose request Node's parser refused after dispatching it: the status the client got instead. */
export const ANSWERED_BY_PARSER = 'answeredByParser';

export function observationOf(req: { method?: string }, res: { statusCode: number; locals?: Record<string, unknown> }, durationSeconds: number): RequestObservation {
  // Node's parser admits only the methods it knows; the guard keeps the label set closed whatever it admits.
  const method = req.method !== undefined && KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
  const status = (res.locals?.[ANSWERED_BY_PARSER] as number | undefined) ?? res.statusCode;
  return { method, route: (res.locals?.route as RouteName | undefined) ?? 'unmatched', status, durationSeconds };
}
