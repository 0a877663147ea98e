// RFC 9457 problem details, and the one error middleware that turns every error into one.
import type { ErrorRequestHandler, Response } from 'express';
import { DomainError, type FieldError } from '../../domain/errors';
import type { Logger } from '../../application/logger.port';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
}

/** An error the HTTP layer raises itself (bad media type, missing token, …), already shaped as a problem. */
export class HttpProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title);
    this.name = 'HttpProblem';
  }
}

const typeUri = (slug: string): string => `urn:problem-type:integrations-service:${slug}`;

export const problems = {
  badRequest: (detail: string): Problem => ({ type: typeUri('malformed-request'), title: 'Malformed request', status: 400, detail }),
  unauthorized: (detail: string): Problem => ({ type: typeUri('unauthorized'), title: 'Unauthorized', status: 401, detail }),
  forbidden: (detail: string): Problem => ({ type: typeUri('forbidden'), title: 'Forbidden', status: 403, detail }),
  notFound: (detail: string): Problem => ({ type: typeUri('not-found'), title: 'Not found', status: 404, detail }),
  methodNotAllowed: (detail: string): Problem => ({ type: typeUri('method-not-allowed'), title: 'Method not allowed', status: 405, detail }),
  preconditionFailed: (detail: string): Problem => ({ type: typeUri('precondition-failed'), title: 'Precondition failed', status: 412, detail }),
  tooLarge: (detail: string): Problem => ({ type: typeUri('payload-too-large'), title: 'Payload too large', status: 413, detail }),
  unsupportedMediaType: (detail: string): Problem => ({ type: typeUri('unsupported-media-type'), title: 'Unsupported media type', status: 415, detail }),
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
    detail: 'The integrations store did not answer in time. Retry shortly; a write that timed out may still have been applied, so read the record (its version says) before writing again.',
  }),
  internal: (): Problem => ({ type: typeUri('internal'), title: 'Internal server error', status: 500, detail: 'An unexpected error occurred.' }),
};

export function sendProblem(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  const requestId = res.locals.requestId as string | undefined;
  res.status(problem.status).set(headers).set('Content-Type', PROBLEM_CONTENT_TYPE);
  if (problem.status === 503) res.set('Retry-After', '1');
  res.send(JSON.stringify({ ...problem, instance: res.req.originalUrl, requestId }));
}

/** body-parser's error `type`s, by what they mean to a client. */
function bodyParserProblem(error: { type?: string; status?: number; message?: string }): Problem | null {
  switch (error.type) {
    case 'entity.parse.failed':
      return problems.badRequest('The body is not valid JSON (or is not a JSON object).');
    case 'entity.too.large':
      return problems.tooLarge('The body is larger than this service accepts.');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return problems.unsupportedMediaType(error.message ?? 'Unsupported body encoding.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return problems.badRequest('The body was not received whole.');
    default:
      return null;
  }
}

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof HttpProblem) return sendProblem(res, error.problem, error.headers);
    if (error instanceof DomainError) {
      switch (error.code) {
        case 'NOT_FOUND':
          return sendProblem(res, problems.notFound(error.message));
        case 'VALIDATION':
          return sendProblem(res, problems.validation((error as DomainError & { errors: FieldError[] }).errors));
        case 'VERSION_CONFLICT':
          return sendProblem(res, problems.preconditionFailed(`${error.message}; read it again and retry with its new ETag.`));
        case 'STORE_UNAVAILABLE':
          logger.warn('store unavailable', { requestId: res.locals.requestId, err: describe(error) });
          return sendProblem(res, problems.storeUnavailable());
      }
    }
    const parsed = bodyParserProblem(error);
    if (parsed) return sendProblem(res, parsed);
    logger.error('unhandled error', { requestId: res.locals.requestId, err: describe(error) });
    return sendProblem(res, problems.internal());
  };
}

function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { value: String(error) };
  return { name: error.name, message: error.message, stack: error.stack, cause: error.cause instanceof Error ? error.cause.message : undefined };
}
