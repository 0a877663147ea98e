// The HTTP adapter assembled: the route table, Express built from it, and Node's request listener. Every request
// first goes through the frame (request id, log line, metrics, security headers, draining, CORS) — the one
// place a per-request step is added — then to the direct read when it is the GET of a route marked `direct` (the
// bot runtime's read of one record, the admin UI's list), else to Express. Built from use cases and a few
// callbacks: it knows nothing of configuration or stores.
import { isUtf8 } from 'node:buffer';
import { IncomingMessage, STATUS_CODES, ServerResponse, type RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';
import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import type { Logger } from '../../application/logger.port';
import { createAuthorizer, type AccessTokens } from './auth';
import { BodyValidator } from './body-validator';
import { integrationRoutes, type AuditEntry, type IntegrationUseCases } from './integrations.routes';
import { buildOpenApiDocument } from './openapi';
import { operationRoutes, type MetricsEndpoint, type ReadinessReport } from './operations.routes';
import { HttpProblem, NOT_UTF8, PROBLEM_CONTENT_TYPE, answerErrors, errorMiddleware, problems } from './problem';
import { RecordResponder } from './record-responder';
import {
  CLOSING,
  RequestTracker,
  applyFrame,
  nextRequestId,
  observationOf,
  requestTarget,
  type HttpRequest,
  type HttpResponse,
  type RequestObserver,
} from './request-context';
import { mountRoutes, type RouteSpec } from './route-table';

export type { MetricsEndpoint, ReadinessReport } from './operations.routes';

export interface HttpAppOptions {
  useCases: IntegrationUseCases;
  logger: Logger;
  readiness: () => ReadinessReport;
  /** Undefined: /metrics answers 404. */
  metrics?: MetricsEndpoint;
  observe?: RequestObserver;
  /** Told of every read answered from a stale copy because the store was down. */
  onStaleRead?: () => void;
  /** The ids of stored records this replica cannot open (left out of the list, which names them). */
  unreadable?: () => readonly string[];
  /** Browser origins allowed to call the API; ['*'] for any, [] for none. */
  corsOrigins: readonly string[];
  tokens: AccessTokens;
  /** Host names the API answers to (ALLOWED_HOSTS). */
  allowedHosts: readonly string[];
  bodyLimitBytes: number;
  version: string;
  /** True once shutdown began: responses then close their connection, so clients reconnect elsewhere. */
  draining?: () => boolean;
}

export interface HttpApp {
  /** Node's request listener the server runs. */
  listener: RequestListener;
  /** The same listener with the direct read turned off, every request through Express: what the direct read is held to
   * (tests). */
  viaExpressOnly: RequestListener;
  /** The listener of the probe port (PROBE_PORT): `/healthz` and `/readyz` as on the API port, anything else 404. */
  probes: RequestListener;
  /**
   * The servers' `checkExpectation` listener: Node hands it, and only it, a request whose Expect is not 100-continue,
   * answered 417 with every answer's headers, logged and measured.
   */
  unmetExpectation: RequestListener;
  /** Every route, as declared. */
  routes: readonly RouteSpec[];
  express: Express;
  /** The classes the server makes its requests and responses with (createServer's options). */
  serverClasses: { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse };
  /** The server's `clientError` listener: a request Node's parser refused, answered, logged and measured. */
  onClientError: (error: Error & { code?: string }, socket: Duplex) => void;
  /** The server's `connect` listener: a CONNECT (the service opens no tunnels) answered 501, logged and measured. */
  onConnect: (req: IncomingMessage, socket: Duplex) => void;
}

/** Probes and scrapes log at debug. */
const QUIET_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);
/** What the probe port answers: the probes' paths as Express matches them (any case, a trailing slash), any query. */
const PROBE_TARGET = /^\/(?:healthz|readyz)\/?(?:\?.*)?$/i;

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const app = express();
  app.disable('x-powered-by');
  // ETags here come from record versions, never from hashing bodies.
  app.set('etag', false);

  const page = securityHeaders();
  // The docs page is HTML: helmet's full set, over the API's.
  const pageHeaders = (res: HttpResponse): void => {
    applyFrame(res);
    for (let i = 0; i < page.length; i += 2) res.setHeader(page[i]!, page[i + 1]!);
  };
  let openapi: string | undefined;
  const tracker = new RequestTracker(options.logger, options.observe, QUIET_ROUTES);
  const metrics = options.metrics;
  const routes: RouteSpec[] = [
    ...integrationRoutes(options.useCases, {
      audit: (entry: AuditEntry) => options.logger.info('audit', { ...entry }),
      onStaleRead: options.onStaleRead,
      unreadable: options.unreadable,
      validator: new BodyValidator(),
      responder: new RecordResponder(),
    }),
    ...operationRoutes({
      readiness: options.readiness,
      metrics,
      openapi: () => (openapi ??= JSON.stringify(buildOpenApiDocument(routes, options.version))),
      pageHeaders,
    }),
  ];
  const directRead = mountRoutes(app, routes, {
    guard: createAuthorizer(options.tokens, options.allowedHosts),
    jsonBody: [
      requireJson,
      express.json({ limit: options.bodyLimitBytes, type: 'application/json', strict: true, verify: requireUtf8 }),
    ],
  });
  app.use((req) => {
    throw new HttpProblem(problems.noRoute(`No route for ${req.method} ${req.path}.`));
  });
  const answerError = answerErrors(options.logger);
  app.use(errorMiddleware(answerError));

  const frame = createFrame(options, tracker);
  const listen = (direct: boolean, probesOnly = false, refusal?: () => HttpProblem): RequestListener => {
    // What follows the frame, one function for every request.
    const proceed: Proceed = (req, res, error) => {
      if (error !== undefined) return answerError(error, req, res);
      if (refusal !== undefined) return answerError(refusal(), req, res);
      if (probesOnly && !PROBE_TARGET.test(requestTarget(req)))
        return answerError(
          new HttpProblem(problems.noRoute('This port answers only /healthz and /readyz (PROBE_PORT).')),
          req,
          res,
        );
      const answered = direct ? directRead(req, res) : false;
      if (answered !== false) {
        answered?.catch((failure: unknown) => answerError(failure, req, res));
        return;
      }
      // Express's writers set their headers one by one: the frame's go on first.
      applyFrame(res);
      app(req, res);
    };
    // A request's work from the frame on, one function for every request.
    const start = (req: HttpRequest, res: HttpResponse): void => {
      try {
        frame(req, res, proceed);
      } catch (error) {
        answerError(error, req, res);
      }
    };
    return (req, plain) => {
      const res = plain as HttpResponse;
      // A client that sends on after a Connection: close answer, or sends and never reads, is cut: Node would
      // read on (no answer is queued behind a close) or keep every answer queued behind an unread one.
      if (CLOSING.get(req.socket) === true || tracker.flooding(req.socket)) {
        req.socket.destroy();
        return;
      }
      tracker.admit(req, res, start);
    };
  };
  const onClientError = (error: Error & { code?: string }, socket: Duplex): void => {
    // What Node answers by default, answered here so the status the client gets is the one logged and measured.
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const res = tracker.inFlightOn(socket);
    const answering = socket.writable && (res === undefined || !res.headersSent);
    if (answering) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    if (res !== undefined && !res.headersSent) {
      // A request already dispatched, whose handler may still set another status: its own log line and observation
      // (on close) carry what the client got.
      res.locals.answeredByParser = status;
    } else if (res === undefined && answering) {
      const requestId = nextRequestId();
      tracker.refused(observationOf({}, { statusCode: status }, 0), requestId);
      options.logger.info('request refused by the HTTP parser', { requestId, parserError: error.code ?? error.name });
    }
    socket.destroy(error);
  };
  // Node drops a CONNECT without a word when nothing listens for it; open-proxy scanners send them, and an operator
  // should see them as any other refused request.
  const onConnect = (req: IncomingMessage, socket: Duplex): void => {
    const status = 501;
    // Node hands the socket over with no listener of its own: a reset must not become an uncaught error.
    socket.on('error', () => socket.destroy());
    const requestId = nextRequestId();
    const body = JSON.stringify({
      ...problems.notImplemented('This service opens no tunnels (CONNECT).'),
      instance: req.url,
      requestId,
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
    tracker.refused(observationOf(req, { statusCode: status }, 0), requestId);
    options.logger.info('CONNECT refused: this service opens no tunnels', { requestId, target: req.url });
  };
  return {
    listener: listen(true),
    viaExpressOnly: listen(false),
    probes: listen(true, true),
    unmetExpectation: listen(
      false,
      false,
      () => new HttpProblem(problems.expectationFailed('The only expectation this service meets is 100-continue.')),
    ),
    routes,
    express: app,
    onClientError,
    onConnect,
    serverClasses: {
      IncomingMessage: madeWith(IncomingMessage, app.request),
      ServerResponse: madeWith(ServerResponse, app.response),
    },
  };
}

/** What runs once the frame is done with a request, or with the error it failed with. */
type Proceed = (req: HttpRequest, res: HttpResponse, error?: unknown) => void;
type Frame = (req: HttpRequest, res: HttpResponse, proceed: Proceed) => void;

/**
 * What every request gets, on both paths: its context (id, log line, metrics), the security headers, `Connection:
 * close` while draining, and CORS. The headers are one block, made once per kind (CORS or not, draining or not) and,
 * for a browser's request, once per Origin.
 */
function createFrame(options: HttpAppOptions, tracker: RequestTracker): Frame {
  const security = securityHeaders(API_HELMET);
  const draining = options.draining ?? (() => false);
  const withCors = options.corsOrigins.length > 0;
  // A request without Origin is not a browser's cross-origin one: it is only told that answers vary by Origin.
  const blocks = {
    plain: security,
    vary: [...security, 'Vary', 'Origin'],
    closing: [...security, 'Connection', 'close'],
    varyClosing: [...security, 'Vary', 'Origin', 'Connection', 'close'],
  };
  // No origin configured: no CORS at all, so a browser lets no other origin read, and no preflight passes.
  if (!withCors) {
    return (req, res, proceed) => {
      tracker.track(req, res, draining() ? blocks.closing : blocks.plain);
      proceed(req, res);
    };
  }
  const corsHandler = cors({
    origin: options.corsOrigins.includes('*') ? '*' : [...options.corsOrigins],
    methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Authorization', 'If-Match', 'If-None-Match', 'X-Request-Id'],
    exposedHeaders: ['ETag', 'X-Request-Id', 'Retry-After', 'Location', 'Unreadable-Integrations'],
    maxAge: 600,
  });
  const browserBlocks = new BrowserBlocks(corsHandler, blocks.plain, blocks.closing, options.corsOrigins);
  return (req, res, proceed) => {
    const closing = draining();
    const origin = req.headers.origin;
    if (origin === undefined) {
      tracker.track(req, res, closing ? blocks.varyClosing : blocks.vary);
      return proceed(req, res);
    }
    const block = req.method === 'OPTIONS' ? undefined : browserBlocks.for(origin, closing);
    if (block !== undefined) {
      tracker.track(req, res, block);
      return proceed(req, res);
    }
    // A preflight, or an origin past those remembered: the cors package sets its headers one by one, the frame's
    // go on first.
    tracker.track(req, res, closing ? blocks.closing : blocks.plain);
    applyFrame(res);
    corsHandler(req, res, (error?: unknown) => proceed(req, res, error));
  };
}

/**
 * The frame's block for a browser's request that is not a preflight: the cors package's headers for such a request
 * depend on its Origin alone (allowed or not, and which), so they are recorded once per Origin, as the package sets
 * them, and written with the frame's in one block instead of being set one by one on every response. Origins are
 * the client's to choose: the configured ones are remembered from the start, others as they come until MAX_ORIGINS
 * are; past that the package runs on the request itself.
 */
class BrowserBlocks {
  static readonly MAX_ORIGINS = 64;
  private readonly known = new Map<string, { open: readonly string[]; closing: readonly string[] }>();

  constructor(
    private readonly corsHandler: RequestHandler,
    private readonly open: readonly string[],
    private readonly closing: readonly string[],
    configured: readonly string[],
  ) {
    for (const origin of configured) if (origin !== '*') this.for(origin, false);
  }

  for(origin: string, closing: boolean): readonly string[] | undefined {
    let blocks = this.known.get(origin);
    if (blocks === undefined) {
      if (this.known.size >= BrowserBlocks.MAX_ORIGINS) return undefined;
      const recorded = headersSetBy(this.corsHandler, { method: 'GET', headers: { origin } });
      if (recorded.removed.length > 0) throw new Error('cors removed a header: BrowserBlocks needs revisiting');
      blocks = { open: [...this.open, ...recorded.set], closing: [...this.closing, ...recorded.set] };
      this.known.set(origin, blocks);
    }
    return closing ? blocks.closing : blocks.open;
  }
}

/**
 * express.json's `verify`: a body sent as UTF-8 (the default, and what RFC 8259 asks of JSON) must be UTF-8. The
 * decoder would put U+FFFD in place of each broken sequence, and the record would keep text the client never sent.
 */
const requireUtf8 = (_req: unknown, _res: unknown, body: Buffer, encoding: string): void => {
  if (/^utf-?8$/i.test(encoding) && !isUtf8(body))
    throw Object.assign(new Error('The body is not valid UTF-8.'), { type: NOT_UTF8, status: 400 });
};

// Writes take JSON only: what the document says, and what a plain HTML form cannot send without a preflight.
const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json'))
    throw new HttpProblem(problems.unsupportedMediaType('Send a JSON body with Content-Type: application/json.'));
  next();
};

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
function securityHeaders(options?: HelmetOptions): string[] {
  const { set, removed } = headersSetBy(helmet(options) as RequestHandler, { headers: {}, method: 'GET' });
  // helmet 8 sets its headers the same for every request and removes only X-Powered-By (which this service never
  // sends); refuse to start should that change.
  if (removed.some((name) => name.toLowerCase() !== 'x-powered-by')) {
    throw new Error('helmet removes headers: securityHeaders() needs revisiting');
  }
  return set;
}

/**
 * The headers a middleware sets (name, value, …) and removes for a request like `req`, run once against a recorder
 * of them. Throws when it does not finish synchronously: it then depends on more than the request, and must run on
 * each.
 */
function headersSetBy(middleware: RequestHandler, req: object): { set: string[]; removed: string[] } {
  const headers = new Map<string, string>();
  const removed: string[] = [];
  let synchronous = false;
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    getHeader: (name: string) => headers.get(name),
    removeHeader: (name: string) => removed.push(name),
  };
  middleware(
    req as never,
    recorder as never,
    ((error?: unknown) => {
      synchronous = error === undefined;
    }) as never,
  );
  if (!synchronous)
    throw new Error('a header middleware no longer finishes synchronously: its recording needs revisiting');
  return { set: [...headers].flat(), removed };
}

/**
 * Node's class, its objects made with `prototype` (one of Express's own) from the start. `Made` inherits `base`'s
 * statics as a subclass does (Node links its own classes so): V8 sizes an object from the constructors on that
 * chain, and without it gives `Made`'s objects room for none of Node's fields, turning each into a slow dictionary.
 */
function madeWith<C extends abstract new (...args: never[]) => object>(base: C, prototype: object): C {
  function Made(this: object, ...args: unknown[]): void {
    (base as unknown as (...args: unknown[]) => void).apply(this, args);
  }
  Object.setPrototypeOf(Made, base);
  Made.prototype = prototype;
  return Made as unknown as C;
}
