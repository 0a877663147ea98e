// The routes operators and tools use: probes, metrics, the API document and its page. Open to anyone, as
// kubelets and Prometheus call them without tokens; none of them carries a credential.
import { DOCS_INIT, DOCS_PAGE, sendDocsAsset } from './docs';
import { HttpProblem, problems } from './problem';
import { JSON_TYPE, framedBody, writeAnswer, type HttpResponse } from './request-context';
import type { RouteSpec } from './route-table';

export interface ReadinessReport {
  ready: boolean;
  /** Why, in a word per check: `store: ok`, `defaults: pending`, `shutdown: draining`, … */
  checks: Record<string, string>;
}

export interface MetricsEndpoint {
  contentType: string;
  render(): Promise<string>;
}

export interface OperationsOptions {
  readiness: () => ReadinessReport;
  /** Undefined: /metrics answers 404. */
  metrics?: MetricsEndpoint;
  /** The OpenAPI document, made once (it is built from the whole table, this route included). */
  openapi: () => string;
  /** The headers of an HTML page (helmet's full set), set over the API's. */
  pageHeaders: (res: HttpResponse) => void;
}

function send(res: HttpResponse, status: number, type: string, body: string, headers: readonly string[] = []): void {
  const framed = framedBody(body, type);
  writeAnswer(res, status, [...headers, ...framed.headers], body, framed.encoding);
}

export function operationRoutes({ readiness, metrics, openapi, pageHeaders }: OperationsOptions): RouteSpec[] {
  const page = (description: string) => ({ 200: { description, content: { 'text/html': { type: 'string' } } } });
  return [
    {
      name: '/healthz',
      paths: ['/healthz'],
      methods: {
        GET: {
          access: 'open',
          handle: (_req, res) => send(res, 200, JSON_TYPE, '{"status":"ok"}'),
          doc: {
            operationId: 'liveness',
            summary: 'Liveness: the process is up',
            tags: ['operations'],
            responses: {
              200: {
                description: 'Up',
                content: {
                  'application/json': { type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] },
                },
              },
            },
          },
        },
      },
    },
    {
      name: '/readyz',
      paths: ['/readyz'],
      methods: {
        GET: {
          access: 'open',
          handle(_req, res) {
            const report = readiness();
            send(
              res,
              report.ready ? 200 : 503,
              JSON_TYPE,
              JSON.stringify({ status: report.ready ? 'ready' : 'not ready', checks: report.checks }),
              ['Cache-Control', 'no-store'],
            );
          },
          doc: {
            operationId: 'readiness',
            summary: 'Readiness: the store answers, the defaults are ensured, stored records can be read',
            tags: ['operations'],
            responses: {
              200: {
                description: 'Ready',
                content: { 'application/json': { $ref: '#/components/schemas/Readiness' } },
                headers: ['Cache-Control'],
              },
              503: {
                description:
                  'Starting, store unreachable, a stored credential that cannot be opened, or shutting down; checks ' +
                  'say which',
                content: { 'application/json': { $ref: '#/components/schemas/Readiness' } },
                headers: ['Cache-Control'],
              },
            },
          },
        },
      },
    },
    {
      name: '/metrics',
      paths: ['/metrics'],
      methods: {
        GET: {
          access: 'open',
          async handle(_req, res) {
            if (!metrics) throw new HttpProblem(problems.noRoute('Metrics are disabled (METRICS_ENABLED=false).'));
            send(res, 200, metrics.contentType, await metrics.render());
          },
          doc: {
            operationId: 'metrics',
            summary: 'Prometheus metrics (when METRICS_ENABLED)',
            tags: ['operations'],
            responses: {
              200: { description: 'Prometheus text format', content: { 'text/plain': { type: 'string' } } },
              404: { description: 'Metrics disabled', problem: true },
            },
          },
        },
      },
    },
    {
      name: '/openapi.json',
      paths: ['/openapi.json'],
      methods: {
        GET: {
          access: 'open',
          handle: (_req, res) => send(res, 200, JSON_TYPE, openapi()),
          doc: {
            operationId: 'openapi',
            summary: 'This document',
            tags: ['operations'],
            responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { type: 'object' } } } },
          },
        },
      },
    },
    {
      name: '/docs',
      paths: ['/docs'],
      methods: {
        GET: {
          access: 'open',
          handle(_req, res) {
            pageHeaders(res);
            send(res, 200, 'text/html; charset=utf-8', DOCS_PAGE);
          },
          doc: {
            operationId: 'docs',
            summary: 'This document, rendered (Swagger UI, served by this service)',
            tags: ['operations'],
            responses: page('HTML page'),
          },
        },
      },
    },
    {
      name: '/docs/init.js',
      paths: ['/docs/init.js'],
      undocumented: true,
      methods: {
        GET: {
          access: 'open',
          handle(_req, res) {
            pageHeaders(res);
            send(res, 200, 'text/javascript; charset=utf-8', DOCS_INIT);
          },
          doc: {
            operationId: 'docsInit',
            summary: "The docs page's initializer",
            tags: ['operations'],
            responses: { 200: { description: 'JavaScript' } },
          },
        },
      },
    },
    {
      name: '/docs/assets/:file',
      paths: ['/docs/assets/:file'],
      undocumented: true,
      methods: {
        GET: {
          access: 'open',
          handle(req, res) {
            pageHeaders(res);
            sendDocsAsset(req, res);
          },
          doc: {
            operationId: 'docsAsset',
            summary: "The docs page's files",
            tags: ['operations'],
            responses: { 200: { description: 'A file of swagger-ui-dist' } },
          },
        },
      },
    },
  ];
}
