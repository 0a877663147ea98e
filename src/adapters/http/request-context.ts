// Per request: the server's request id (made here, always, and echoed; a client's X-Request-Id is kept apart as
// clientRequestId), the name of the route that answers, the headers every answer carries, and on completion one
// log line and one observation.
//
// Done once rather than per request where it can be: the id is a process prefix and a counter, the completion
// listener is one function for every response, the frame's headers are one block per kind of response, written
// with the answer's own in one writeHead.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../application/logger.port';

export interface RequestObservation {
  method: string;
  /** The route's fixed name (`/integrations/:id`, for both prefixes), never the raw path; `unmatched` when no route
   * matched. */
  route: RouteName | 'unmatched';
  status: number;
  durationSeconds: number;
}

export type RequestObserver = (observation: RequestObservation) => void;

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

/** What the adapter keeps of one request, on `res.locals` (Express's place for it): one fixed shape. */
export class RequestLocals {
  requestId = '';
  clientRequestId: string | undefined = undefined;
  route: RouteName | undefined = undefined;
  /** Who called (auth.ts), once the route's guard let the request through. */
  principal: unknown = undefined;
  /** The status Node's parser answered with after the request was dispatched (app.ts, onClientError). */
  answeredByParser: number | undefined = undefined;
  started = 0;
  /** The frame's headers (request id apart), until they are on the response. */
  frame: readonly string[] = [];
  framePending = false;
  [other: string]: unknown;
}

/** A request as this adapter's pieces see it: Node's, which Express's extends. */
export type HttpRequest = IncomingMessage & { originalUrl?: string };
/** A request a route matched: its path's parameters. */
export type RouteRequest = HttpRequest & { params: Record<string, string> };
/** A response with the per-request context, as Express's has. */
export type HttpResponse = ServerResponse & { locals: RequestLocals };

/** The path and query the client asked for (Express's `originalUrl`, kept when a router strips a mount path). */
export const requestTarget = (req: HttpRequest): string => req.originalUrl ?? req.url ?? '/';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// A request id: a random prefix and a counter, unique across replicas and restarts in practice, without drawing
// random bytes per request. The counter, from a random start, counts in eight hex digits (0x10000000 onwards), so
// every id has the same length and an answer's size never depends on how long the process ran; should it run
// out of eight digits, a new prefix is drawn and it starts again. The id is made by join, which gives V8 one flat
// string, where a template gives a rope of three: node:http's check of each header value and the log line's each run
// a regular expression over the id, and on a rope the first of them goes through V8's runtime to flatten it first.
const FIRST = 0x1000_0000;
const LAST = 0xffff_ffff;
let prefix = '';
let sequence = LAST;
export const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{8}$/;
export function nextRequestId(): string {
  if (sequence >= LAST) {
    prefix = randomBytes(4).toString('hex');
    sequence = FIRST + randomBytes(3).readUIntBE(0, 3);
  }
  sequence += 1;
  return [prefix, sequence.toString(16)].join('-');
}

// The methods a metric label names: those the API answers (and CORS preflights); every other is `OTHER`, so a
// sweep of the methods Node's parser admits adds one series, not one per method.
const LABELLED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'OPTIONS']);

/** Records which route answers a request: its log line and metric label carry the name. */
export function tagRoute(res: HttpResponse, name: RouteName): void {
  res.locals.route = name;
}

// The last frame and answer headers written together, joined once, with the request id's slot filled in per
// answer: the bot runtime's read writes the same frame and record request after request. writeHead reads the
// array as it is called and keeps none of it.
let joined = { frame: [] as readonly string[], headers: [] as readonly string[], all: [] as string[] };

export type BodyEncoding = 'latin1' | 'utf8';
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * What frames a body: its Content-Type and its Content-Length (its UTF-8 bytes, counted once), and how it is handed
 * to the socket: a body all ASCII (its byte length is its length) as `latin1`, the same bytes copied as they are
 * rather than encoded character by character, anything else as UTF-8.
 */
export function framedBody(body: string, contentType: string): { headers: string[]; encoding: BodyEncoding } {
  const byteLength = Buffer.byteLength(body);
  return {
    headers: ['Content-Type', contentType, 'Content-Length', String(byteLength)],
    encoding: byteLength === body.length ? 'latin1' : 'utf8',
  };
}

/**
 * Writes an answer: its status, its own headers (name, value, name, value, …) and the frame's that are not on the
 * response yet, in one writeHead, then the body (a HEAD's is not sent), as `encoding` says (framedBody), with
 * Node's own writeHead and end: what a handler that answers without Express (the direct read) writes with.
 */
export function writeAnswer(
  res: HttpResponse,
  status: number,
  headers: readonly string[],
  body?: string,
  encoding: BodyEncoding = 'utf8',
): void {
  const locals = res.locals;
  let all = headers;
  if (locals.framePending) {
    locals.framePending = false;
    const frame = locals.frame;
    if (joined.frame !== frame || joined.headers !== headers)
      joined = { frame, headers, all: [...frame, 'X-Request-Id', '', ...headers] };
    joined.all[frame.length + 1] = locals.requestId;
    all = joined.all;
  }
  res.writeHead(status, all as string[]);
  res.end(body, encoding);
}

/** Puts the frame's headers on the response now, for a writer that sets its own (Express's). */
export function applyFrame(res: HttpResponse): void {
  const locals = res.locals;
  if (!locals.framePending) return;
  locals.framePending = false;
  const frame = locals.frame;
  for (let i = 0; i < frame.length; i += 2) res.setHeader(frame[i]!, frame[i + 1]!);
  res.setHeader('X-Request-Id', locals.requestId);
}

/** A request waiting for its turn on its connection (RequestTracker.admit): what starts it, and when it arrived. */
interface Waiting {
  req: HttpRequest;
  res: HttpResponse;
  start: (req: HttpRequest, res: HttpResponse) => void;
  arrived: number;
}

/** A finished request, as its log line and its observation need it. */
interface Finished {
  observation: RequestObservation;
  url: string;
  requestId: string;
  clientRequestId: string | undefined;
  durationMs: number;
  aborted: boolean;
}

/**
 * A value kept per connection (the response in flight on it, what its Authorization header was found to be), held
 * by the connection itself under a key of its own: a property read or write per request, where a WeakMap costs a
 * hash lookup each and work for every garbage collection. It goes with the connection.
 */
export class ConnectionSlot<T> {
  private readonly key: symbol;

  constructor(name: string) {
    this.key = Symbol(name);
  }

  get(connection: object): T | undefined {
    return (connection as Record<symbol, T | undefined>)[this.key];
  }

  set(connection: object, value: T | undefined): void {
    (connection as Record<symbol, T | undefined>)[this.key] = value;
  }
}

/** Requests one connection may have dispatched and not over; a client that reads its answers never comes near. */
export const MAX_PIPELINED = 32;

/**
 * Connections this service answered with `Connection: close`: a client sends nothing after that answer (RFC 9112
 * §9.6), and one that does is cut rather than read on.
 */
export const CLOSING = new ConnectionSlot<true>('answered with Connection: close');

/**
 * How long a connection may keep MAX_PIPELINED requests not over with answers the network does not take: Node stops
 * reading one whose answers are not taken, but keeps those already queued for as long as it stays open.
 */
export const STUCK_PIPELINE_MS = 5_000;

/**
 * Each request's context (its id, the frame's headers) and, once it is over ('close', sent or not), its log line
 * and its observation.
 */
export class RequestTracker {
  private readonly onClose: (this: HttpResponse) => void;
  // The response in flight on each connection, until it closes: a parser error on that connection is told to it
  // while it is in flight, answered as on a fresh connection after. Nothing of a finished request is kept.
  private readonly inFlight = new ConnectionSlot<HttpResponse>('response in flight');
  // How many requests of each connection are dispatched and not over.
  private readonly unfinished = new ConnectionSlot<number>('requests not over');
  // Connections with MAX_PIPELINED requests not over, to be looked at again after STUCK_PIPELINE_MS.
  private readonly watched = new ConnectionSlot<true>('watched for a stuck pipeline');
  // Requests of a connection that arrived while it had MAX_PIPELINED not over, in order, with what starts each.
  private readonly waiting = new ConnectionSlot<Waiting[]>('requests waiting their turn');
  // While a waiting request starts: when it arrived, so its duration counts its wait.
  private arrived: number | undefined = undefined;

  constructor(
    private readonly logger: Logger,
    private readonly observe: RequestObserver | undefined,
    private readonly quiet: ReadonlySet<string> = new Set(),
  ) {
    const tracker = this;
    // One listener for every response: it reads the request from res.locals.
    this.onClose = function (this: HttpResponse): void {
      const locals = this.locals;
      const durationMs = performance.now() - locals.started;
      const socket = this.req.socket;
      if (tracker.inFlight.get(socket) === this) tracker.inFlight.set(socket, undefined);
      tracker.unfinished.set(socket, tracker.unfinished.get(socket)! - 1);
      const next = tracker.waiting.get(socket)?.shift();
      // Never started on a connection that went away.
      if (next !== undefined && !socket.destroyed) {
        tracker.arrived = next.arrived;
        try {
          next.start(next.req, next.res);
        } finally {
          tracker.arrived = undefined;
        }
      }
      tracker.record({
        observation: observationOf(this.req, this, durationMs / 1e3),
        url: requestTarget(this.req),
        requestId: locals.requestId,
        clientRequestId: locals.clientRequestId,
        durationMs,
        aborted: !this.writableFinished,
      });
    };
  }

  /** Starts a request's context: its id, the frame's headers, and its record once it is over. */
  track(req: HttpRequest, res: HttpResponse, frame: readonly string[]): void {
    const locals = new RequestLocals();
    res.locals = locals;
    locals.started = this.arrived ?? performance.now();
    locals.requestId = nextRequestId();
    const incoming = req.headers['x-request-id'];
    if (typeof incoming === 'string' && CLIENT_REQUEST_ID.test(incoming)) locals.clientRequestId = incoming;
    locals.frame = frame;
    locals.framePending = true;
    this.inFlight.set(req.socket, res);
    this.unfinished.set(req.socket, (this.unfinished.get(req.socket) ?? 0) + 1);
    if (this.pipelinedDeep(req.socket) && this.watched.get(req.socket) === undefined) this.watch(req.socket);
    res.on('close', this.onClose);
  }

  /**
   * Every STUCK_PIPELINE_MS while the connection has MAX_PIPELINED requests not over: cuts it if its socket still
   * holds bytes the network has not taken (`writableLength`: the client does not read); answers still being worked
   * on (a slow store), with nothing written yet, are waited for.
   */
  private watch(socket: HttpRequest['socket']): void {
    this.watched.set(socket, true);
    setTimeout(() => {
      this.watched.set(socket, undefined);
      if (!this.pipelinedDeep(socket) || socket.destroyed) return;
      if (socket.writableLength > 0) socket.destroy();
      else this.watch(socket);
    }, STUCK_PIPELINE_MS).unref();
  }

  /**
   * True when a connection has MAX_PIPELINED requests dispatched and not over while its socket cannot take more
   * (`writableNeedDrain`: the client does not read what it was sent). Node then stops reading it, but keeps every
   * answer queued behind the unread ones, for as long as the connection stays: it is cut rather than answered.
   * A client that pipelines and reads, however deep, never gets there; answers that the network still takes are
   * sent, and what they hold is freed as they go.
   */
  flooding(socket: { writableNeedDrain: boolean }): boolean {
    return socket.writableNeedDrain && this.pipelinedDeep(socket);
  }

  /**
   * Starts a request now, or, while its connection has MAX_PIPELINED requests not over, once one of them is: Node
   * would only queue its answer behind theirs, and an answer built early holds its memory (the header block, the
   * body) for as long as it waits. Requests waiting on a connection that goes away are never started.
   */
  admit(req: HttpRequest, res: HttpResponse, start: (req: HttpRequest, res: HttpResponse) => void): void {
    const socket = req.socket;
    if (!this.pipelinedDeep(socket)) {
      start(req, res);
      return;
    }
    let waiting = this.waiting.get(socket);
    if (waiting === undefined) {
      waiting = [];
      this.waiting.set(socket, waiting);
    }
    waiting.push({ req, res, start, arrived: performance.now() });
  }

  /** True when a connection has MAX_PIPELINED requests dispatched and not over. */
  private pipelinedDeep(socket: object): boolean {
    return (this.unfinished.get(socket) ?? 0) >= MAX_PIPELINED;
  }

  /** The response in flight on a connection, if one is. */
  inFlightOn(socket: object): HttpResponse | undefined {
    return this.inFlight.get(socket);
  }

  /** Logs and observes a request Node's parser refused, which no response tracked. */
  refused(observation: RequestObservation, requestId: string): void {
    this.record({ observation, url: '-', requestId, clientRequestId: undefined, durationMs: 0, aborted: false });
  }

  private record(finished: Finished): void {
    this.observe?.(finished.observation);
    logRequest(this.logger, this.quiet, finished);
  }
}

/** The one request log line: id, method, route, path (never the query), status, duration. */
function logRequest(
  logger: Logger,
  quiet: ReadonlySet<string>,
  { observation, url, requestId, clientRequestId, durationMs, aborted }: Finished,
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

export function observationOf(
  req: { method?: string },
  res: { statusCode: number; locals?: { answeredByParser?: number; route?: RouteName } },
  durationSeconds: number,
): RequestObservation {
  const method = req.method !== undefined && LABELLED_METHODS.has(req.method) ? req.method : 'OTHER';
  const status = res.locals?.answeredByParser ?? res.statusCode;
  return { method, route: res.locals?.route ?? 'unmatched', status, durationSeconds };
}
