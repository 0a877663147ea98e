// The Express application: every route of the API, assembled from use cases and a few callbacks, so
// it knows nothing of how the service is configured or what store sits behind the use cases.
import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from '../../application/logger.port';
import { createAuthorizer, type AccessTokens } from './auth';
import { BodyValidator } from './body-validator';
import { docsRouter } from './docs.router';
import { integrationsRouter, type IntegrationUseCases } from './integrations.router';
import { buildOpenApiDocument } from './openapi';
import { HttpProblem, errorMiddleware, problems } from './problem';
import { RecordResponder } from './record-responder';
import { namedRoute, requestContext, type RequestObserver } from './request-context';

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

export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags here come from record versions, never from hashing bodies.
  app.set('etag', false);

  app.use(requestContext(options.logger, options.observe));
  // The security headers a well-kept library keeps current (nosniff, frame and opener policies, a CSP the
  // /docs page works under, …), computed once here and set on every response.
  app.use(helmet());
  if (options.draining) {
    const draining = options.draining;
    app.use((_req, res, next) => {
      if (draining()) res.set('Connection', 'close');
      next();
    });
  }
  // No origin configured: no CORS at all, so a browser lets no other origin read, and no preflight passes.
  if (options.corsOrigins.length > 0) app.use(
    cors({
      origin: options.corsOrigins.includes('*') ? '*' : [...options.corsOrigins],
      methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'OPTIONS'],
      allowedHeaders: ['Content-Type', 'Authorization', 'If-Match', 'If-None-Match', 'X-Request-Id'],
      exposedHeaders: ['ETag', 'X-Request-Id', 'Retry-After', 'Location'],
      maxAge: 600,
    }),
  );

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
  app.use('/docs', docsRouter());

  // One router under both prefixes: one layer to match, whichever the client uses.
  const router = integrationsRouter(options.useCases, {
    authorize: createAuthorizer(options.tokens),
    audit: (entry) => options.logger.info('audit', { ...entry }),
    onStaleRead: options.onStaleRead,
    validator: new BodyValidator(),
    bodyLimitBytes: options.bodyLimitBytes,
    responder: new RecordResponder(),
  });
  app.use([...API_PREFIXES], router);

  app.use((req) => {
    throw new HttpProblem(problems.notFound(`No route for ${req.method} ${req.path}.`));
  });
  app.use(errorMiddleware(options.logger));
  return app;
}
