// The bot runtime reads GET /integrations/:id on every Messenger message it receives. That request, in its
// plain form, is answered here straight from Node's request listener: the same frame (request id, log line,
// metrics, security headers, CORS), the same token check, the same handler and the same problems as the
// Express route, without Express's per-request work (prototype swaps, router walk, response helpers), which
// costs more than everything the service itself does for a read (README, Benchmarks).
//
// Anything else, and any other form of that request (HEAD, another spelling of the path, a percent-encoded
// or reserved id, a trailing slash, an absolute URI), goes to the Express app, which answers it as before.
// test/http/direct-read.spec.ts sends the same requests to both and compares the answers.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { RecordRead } from './integrations.router';
import type { ErrorAnswer } from './problem';
import { tagRoute, type HttpRequest, type HttpResponse } from './request-context';

/** What runs before every route: the request's context, its headers, CORS; calls `next` to go on (or with an error). */
export type Frame = (req: HttpRequest, res: HttpResponse, next: (error?: unknown) => void) => void;

export interface DirectReadParts {
  frame: Frame;
  readRecord: RecordRead;
  /** True when `/integrations/<segment>` is another route's (ensure-defaults), which the Express app answers. */
  namesAnotherRoute: (segment: string) => boolean;
  answerError: ErrorAnswer;
}

// Either prefix, then an id of the characters ids are made of, then the end or a query (which Express ignores too).
const PLAIN_READ = /^\/(?:admin\/)?integrations\/([A-Za-z0-9_-]{1,128})(?:\?|$)/;

/** The id of a plain GET of one record, or undefined for a request the Express app should answer. */
export function plainReadId(req: IncomingMessage, namesAnotherRoute: (segment: string) => boolean): string | undefined {
  if (req.method !== 'GET' || req.url === undefined) return undefined;
  const id = PLAIN_READ.exec(req.url)?.[1];
  return id === undefined || namesAnotherRoute(id) ? undefined : id;
}

/** Node's request listener: plain record reads answered directly, everything else by `express`. */
export function withDirectRead(parts: DirectReadParts, express: RequestListener): RequestListener {
  const { frame, readRecord, namesAnotherRoute, answerError } = parts;
  return (req: IncomingMessage, plain: ServerResponse) => {
    const id = plainReadId(req, namesAnotherRoute);
    if (id === undefined) return express(req, plain);
    const res = plain as HttpResponse;
    res.locals = Object.create(null) as Record<string, unknown>;
    try {
      frame(req, res, (error) => {
        if (error !== undefined) return answerError(error, req, res);
        tagRoute(res, '/integrations/:id');
        readRecord(req, res, id).catch((failure: unknown) => answerError(failure, req, res));
      });
    } catch (error) {
      answerError(error, req, res);
    }
  };
}
