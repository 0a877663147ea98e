// RFC 9457 problem details, and the one error middleware that turns every error into one.
import type { ErrorRequestHandler } from 'express';
import { DomainError, type ValidationError, type DomainErrorCode, type FieldError } from '../../domain/errors';
import { errorFields, type Logger } from '../../application/logger.port';
import {
  CLOSING,
  framedBody,
  requestTarget,
  writeAnswer,
  type HttpRequest,
  type HttpResponse,
} from './request-context';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

/** An error the HTTP layer raises itself (bad media type, missing token, …), already shaped as a problem. */
export class HttpProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail);
    this.name = 'HttpProblem';
  }
}

/** Every problem type this service answers with, as the OpenAPI document lists them. */
export const typeUri = (slug: string): string => `urn:problem-type:integrations-service:${slug}`;

/** A problem of one type whose detail each answer gives. */
const ofType =
  (slug: string, title: string, status: number) =>
  (detail: string): Problem => ({ type: typeUri(slug), title, status, detail });

export const problems = {
  badRequest: ofType('malformed-request', 'Malformed request', 400),
  unauthorized: ofType('unauthorized', 'Unauthorized', 401),
  forbidden: ofType('forbidden', 'Forbidden', 403),
  /** No record with that id: what a client of the API may expect for a record that does not exist. */
  integrationNotFound: ofType('integration-not-found', 'Integration not found', 404),
  /** No such route: a wrong base URL or prefix, another server's path; never a missing record. */
  noRoute: ofType('no-route', 'No such route', 404),
  methodNotAllowed: ofType('method-not-allowed', 'Method not allowed', 405),
  expectationFailed: ofType('expectation-failed', 'Expectation failed', 417),
  misdirected: ofType('misdirected-request', 'Misdirected request', 421),
  notImplemented: ofType('not-implemented', 'Not implemented', 501),
  preconditionFailed: ofType('precondition-failed', 'Precondition failed', 412),
  tooLarge: ofType('payload-too-large', 'Payload too large', 413),
  unsupportedMediaType: ofType('unsupported-media-type', 'Unsupported media type', 415),
  validation: (errors: FieldError[]): Problem => ({
    type: typeUri('validation'),
    title: 'Validation failed',
    status: 422,
    detail: `The body breaks ${errors.length} rule${errors.length === 1 ? '' : 's'}; see errors.`,
    errors,
  }),
  storeUnavailable: (): Problem => ({
    type: typeUri('store-unavailable'),
    title: 'Store unavailable',
    status: 503,
    detail:
      'The integrations store did not answer in time. Retry shortly; a write that timed out may still have been ' +
      'applied, so read the record (its version says) before writing again.',
  }),
  internal: (): Problem => ({
    type: typeUri('internal'),
    title: 'Internal server error',
    status: 500,
    detail: 'An unexpected error occurred.',
  }),
};

/** Writes a problem with Node's own calls, so Express's routes and the direct read answer it byte for byte alike. */
export function sendProblem(
  req: HttpRequest,
  res: HttpResponse,
  problem: Problem,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ ...problem, instance: requestTarget(req), requestId: res.locals.requestId });
  const all: string[] = [];
  for (const name of Object.keys(headers)) all.push(name, headers[name]!);
  if (problem.status === 503) all.push('Retry-After', '1');
  // Refused with a body left unread (too large, no token for a write): close the connection rather than read, or
  // wait for, what the client is still sending. A refused request without one keeps its connection.
  if (problem.status === 413 || hasUnreadBody(req)) {
    all.push('Connection', 'close');
    CLOSING.set(req.socket, true);
  }
  const framed = framedBody(body, PROBLEM_CONTENT_TYPE);
  all.push(...framed.headers);
  writeAnswer(res, problem.status, all, body, framed.encoding);
}

/** A body the client sent, or is sending, that was not read: `complete` is false for every request until its handler
 * returns. */
function hasUnreadBody(req: HttpRequest): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The `type` of the error a body sent as UTF-8 that is not raises (app.ts, express.json's `verify`). */
export const NOT_UTF8 = 'entity.not.utf8';

/** Errors raised while reading the request (body-parser's `type`s, a malformed path), by what they mean to a client. */
function clientErrorProblem(thrown: unknown): Problem | null {
  if (thrown instanceof URIError) return problems.badRequest('The path holds a malformed percent-encoding.');
  if (typeof thrown !== 'object' || thrown === null) return null;
  const error = thrown as { type?: string; status?: number; statusCode?: number; message?: string };
  switch (error.type) {
    case 'entity.parse.failed':
      return problems.badRequest('The body is not valid JSON (or is not a JSON object).');
    case NOT_UTF8:
      return problems.badRequest('The body is not valid UTF-8, which JSON is sent in (RFC 8259).');
    case 'entity.too.large':
      return problems.tooLarge('The body is larger than this service accepts.');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return problems.unsupportedMediaType(error.message ?? 'Unsupported body encoding.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return problems.badRequest('The body was not received whole.');
    default: {
      // Any other error a library marked as the client's (a corrupt gzip body, say) is a 400, never a 500.
      const status = error.status ?? error.statusCode;
      return typeof status === 'number' && status >= 400 && status < 500
        ? problems.badRequest('The request could not be read.')
        : null;
    }
  }
}

/** The problem each domain error code answers: a new code without an entry here does not compile. */
const DOMAIN_PROBLEMS: { [C in DomainErrorCode]: (error: DomainError) => Problem } = {
  NOT_FOUND: (error) => problems.integrationNotFound(error.message),
  VALIDATION: (error) => problems.validation((error as ValidationError).errors),
  VERSION_CONFLICT: (error) =>
    problems.preconditionFailed(`${error.message}; read it again and retry with its new ETag.`),
  STORE_UNAVAILABLE: () => problems.storeUnavailable(),
};

/**
 * Answers any error a request met with its problem; logs what is the store's or the service's fault, never a
 * value. An error after the answer began can no longer be said: it is logged and the response cut.
 */
export type ErrorAnswer = (error: unknown, req: HttpRequest, res: HttpResponse) => void;

export function answerErrors(logger: Logger): ErrorAnswer {
  return (error, req, res) => {
    if (res.headersSent) {
      logger.error('error after the answer began', { requestId: res.locals.requestId, ...errorFields(error) });
      res.destroy();
      return;
    }
    if (error instanceof HttpProblem) return sendProblem(req, res, error.problem, error.headers);
    if (error instanceof DomainError) {
      if (error.code === 'STORE_UNAVAILABLE')
        logger.warn('store unavailable', { requestId: res.locals.requestId, ...errorFields(error) });
      return sendProblem(req, res, DOMAIN_PROBLEMS[error.code](error));
    }
    const parsed = clientErrorProblem(error);
    if (parsed) return sendProblem(req, res, parsed);
    logger.error('unhandled error', { requestId: res.locals.requestId, ...errorFields(error) });
    return sendProblem(req, res, problems.internal());
  };
}

/** Express's last middleware: every error a route raised, answered as the direct read answers it. */
export function errorMiddleware(answer: ErrorAnswer): ErrorRequestHandler {
  return (error, req, res, _next) => answer(error, req as unknown as HttpRequest, res as unknown as HttpResponse);
}
