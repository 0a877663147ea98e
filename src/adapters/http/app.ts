// The HTTP adapter assembled: the Express application with every route of the API, and the request listener
// the server runs (the bot runtime's plain read answered directly, by the same pieces, the rest by Express).
// Built from use cases and a few callbacks, so it knows nothing of how the service is configured or what
// store sits behind the use cases.
import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type Express } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import type { Logger } from '../../application/logger.port';
import { createAuthorizer, type AccessTokens } from './auth';
import { BodyValidator } from './body-validator';
import { docsRouter } from './docs.router';
import { withDirectRead, type Frame } from './direct-read';
import { mountIntegrationRoutes, namesAnotherRoute, type IntegrationUseCases } from './integrations.router';
import { buildOpenApiDocument } from './openapi';
import { HttpProblem, answerErrors, errorMiddleware, problems } from './problem';
import { RecordResponder } from './record-responder';
import { namedRoute, requestTracker, type HttpResponse, type RequestObserver } from './request-context';

export const API_PREFIXES = ['/integrations', '/admin/integrations'] as const;

export interface ReadinessReport {
  ready: boolean;
  /** Why, in a word per check: `store: ok`, `defaults: pending`, `shutdown: draining`, … */
  checks: Record<string, string>;
}

export interface MetricsEndpoint {
  contentType: string;
  render(): Promise<string>;
}

export interface HttpAppOptions {
  useCases: IntegrationUseCases;
  logger: Logger;
  readiness: () => ReadinessReport;
  /** Undefined: /metrics answers 404. */
  metrics?: MetricsEndpoint;
  observe?: RequestObserver;
  /** Told of every read answered from a stale copy because the store was down. */
  onStaleRead?: () => void;
  /** Browser origins allowed to call the API; ['*'] for any, [] for none. */
  corsOrigins: readonly string[];
  tokens: AccessTokens;
  bodyLimitBytes: number;
  version: string;
  /** True once shutdown began: responses then close their connection, so clients reconnect elsewhere. */
  draining?: () => boolean;
}

export interface HttpApp {
  /** The Express application: every route. */
  express: Express;
  /** Node's request listener the server runs: plain record reads answered directly (direct-read.ts), the rest by `express`. */
  listener: RequestListener;
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const app = express();
  app.disable('x-powered-by');
  // ETags here come from record versions, never from hashing bodies.
  app.set('etag', false);

  // What every request gets, in one middleware (each Express layer costs a little on the hot path): its
  // context (id, log line, metrics), the security headers, `Connection: close` while draining, and CORS.
  const track = requestTracker(options.logger, options.observe);
  const headers = securityHeaders(API_HELMET);
  const draining = options.draining ?? (() => false);
  // No origin configured: no CORS at all, so a browser lets no other origin read, and no preflight passes.
  const corsHandler =
    options.corsOrigins.length > 0
      ? cors({
          origin: options.corsOrigins.includes('*') ? '*' : [...options.corsOrigins],
          methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'OPTIONS'],
          allowedHeaders: ['Content-Type', 'Authorization', 'If-Match', 'If-None-Match', 'X-Request-Id'],
          exposedHeaders: ['ETag', 'X-Request-Id', 'Retry-After', 'Location'],
          maxAge: 600,
        })
      : undefined;
  const frame: Frame = (req, res, next) => {
    track(req, res);
    headers(res);
    if (draining()) res.setHeader('Connection', 'close');
    if (!corsHandler) return next();
    // A request without Origin is not a browser's cross-origin one: only say that answers vary by Origin.
    if (req.headers.origin === undefined) {
      res.setHeader('Vary', 'Origin');
      return next();
    }
    corsHandler(req, res, next);
  };
  app.use(frame);

  // The API first (the bot runtime's read is the hot path), one router under both prefixes: one layer to
  // match, whichever prefix the client uses.
  const readRecord = mountIntegrationRoutes(app as unknown as express.Router, API_PREFIXES, options.useCases, {
    authorize: createAuthorizer(options.tokens),
    audit: (entry) => options.logger.info('audit', { ...entry }),
    onStaleRead: options.onStaleRead,
    validator: new BodyValidator(),
    bodyLimitBytes: options.bodyLimitBytes,
    responder: new RecordResponder(),
  });

  const operations = express.Router();
  namedRoute(operations, '/healthz', '/healthz').get((_req, res) => {
    res.json({ status: 'ok' });
  });
  namedRoute(operations, '/readyz', '/readyz').get((_req, res) => {
    const report = options.readiness();
    res.status(report.ready ? 200 : 503).set('Cache-Control', 'no-store').json({ status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  });
  namedRoute(operations, '/metrics', '/metrics').get(async (_req, res) => {
    if (!options.metrics) throw new HttpProblem(problems.notFound('Metrics are disabled (METRICS_ENABLED=false).'));
    res.set('Content-Type', options.metrics.contentType).send(await options.metrics.render());
  });
  const openapi = JSON.stringify(buildOpenApiDocument(options.version));
  namedRoute(operations, '/openapi.json', '/openapi.json').get((_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.use(operations);
  // The docs page is HTML: helmet's full set (its CSP is one Swagger UI works under).
  const pageHeaders = securityHeaders();
  app.use('/docs', (_req, res, next) => {
    pageHeaders(res);
    next();
  });
  app.use('/docs', docsRouter());


  app.use((req) => {
    throw new HttpProblem(problems.notFound(`No route for ${req.method} ${req.path}.`));
  });
  const answerError = answerErrors(options.logger);
  app.use(errorMiddleware(answerError));
  return { express: app, listener: withDirectRead({ frame, readRecord, namesAnotherRoute, answerError }, app) };
}

/**
 * The headers OWASP's REST Security Cheat Sheet asks of a JSON API, by helmet: a CSP that allows nothing
 * and no framing, X-Frame-Options DENY, HSTS, nosniff, no referrer, same-origin resources. The HTML-only
 * ones (DNS prefetch, download options, XSS filter, origin-agent cluster, opener policy) are for /docs.
 */
const API_HELMET: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  xFrameOptions: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/**
 * The security headers a well-kept library keeps current (nosniff, frame and opener policies, a CSP the
 * /docs page works under, …). helmet's headers do not depend on the request, so they are worked out once
 * here and copied onto every response, instead of running its dozen middleware functions per request.
 */
function securityHeaders(options?: HelmetOptions): (res: HttpResponse) => void {
  const headers = new Map<string, string>();
  const removed: string[] = [];
  let synchronous = false;
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => removed.push(name),
    getHeader: () => undefined,
  };
  const middleware = helmet(options);
  middleware({ headers: {}, method: 'GET' } as never, recorder as never, ((error?: unknown) => {
    synchronous = error === undefined;
  }) as never);
  // helmet 8 sets its headers synchronously, the same for every request; refuse to start should that change.
  if (!synchronous) throw new Error('helmet no longer sets static headers synchronously: securityHeaders() needs revisiting');
  const entries = [...headers];
  return (res) => {
    for (const [name, value] of entries) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
  };
}
