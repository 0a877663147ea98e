// The integrations routes, mounted by the app under /integrations and /admin/integrations alike.
import express, { type RequestHandler, type Router } from 'express';
import { WRITABLE_FIELD_NAMES } from '../../domain/integration-fields';
import type { IntegrationChanges } from '../../domain/integration.entity';
import type { EditIntegration, EditPrecondition } from '../../application/edit-integration.use-case';
import type { EnsureDefaultIntegrations } from '../../application/ensure-default-integrations.use-case';
import type { GetIntegration } from '../../application/get-integration.use-case';
import type { ListIntegrations } from '../../application/list-integrations.use-case';
import type { Access, Guard } from './auth';
import type { BodyKind, BodyValidator } from './body-validator';
import { parseEntityTags, strongVersions, weakVersions, type EntityTags } from './etag';
import { HttpProblem, problems } from './problem';
import { namedRoute, type HttpRequest, type HttpResponse } from './request-context';
import type { RecordResponder } from './record-responder';

export interface IntegrationUseCases {
  list: ListIntegrations;
  get: GetIntegration;
  edit: EditIntegration;
  ensureDefaults: EnsureDefaultIntegrations;
}

/** What an acknowledged write leaves in the audit log: never a value, only names and versions. */
export interface AuditEntry {
  integration: string;
  versionBefore: number;
  versionAfter: number;
  changed: string[];
  /** The token's label (see auth.ts), never the token; `open` when the API runs without tokens. */
  principal: string;
  requestId: string;
}

export interface IntegrationsRouterOptions {
  authorize: (access: Access) => Guard;
  audit: (entry: AuditEntry) => void;
  /** Told of every read answered from a stale copy because the store was down. */
  onStaleRead?: () => void;
  validator: BodyValidator;
  bodyLimitBytes: number;
  responder: RecordResponder;
}

const JSON_TYPES = ['application/json', 'application/*+json'];

// The path segment the route beside /:id takes (Express matches paths case-insensitively, so any spelling).
const ENSURE_DEFAULTS = 'ensure-defaults';
/** Whether `/integrations/<segment>` names another route than a record (checked by the direct read). */
export const namesAnotherRoute = (segment: string): boolean => segment.toLowerCase() === ENSURE_DEFAULTS;

/** GET /integrations/:id, the bot runtime's read: one function for the Express route and the direct read. */
export type RecordRead = (req: HttpRequest, res: HttpResponse, id: string) => Promise<void>;

/**
 * Declares the integrations routes on `router` under each of `prefixes`, one route per path template for
 * all prefixes (one layer to match, whichever prefix the client uses). A read is one handler: its token
 * check runs inside it; a write checks the token before its body is read.
 */
export function mountIntegrationRoutes(
  router: Router,
  prefixes: readonly string[],
  useCases: IntegrationUseCases,
  { authorize, audit, onStaleRead, validator, bodyLimitBytes, responder }: IntegrationsRouterOptions,
): RecordRead {
  const at = (path: string): string[] => prefixes.map((prefix) => `${prefix}${path}`);
  const jsonBody: RequestHandler[] = [requireJson, express.json({ limit: bodyLimitBytes, type: JSON_TYPES, strict: true })];
  const guard = (access: Access): RequestHandler => {
    const check = authorize(access);
    return (req, res, next) => {
      check(req, res);
      next();
    };
  };
  const mayRead = authorize('read');

  namedRoute(router, '/integrations', at(''))
    .get(async (req, res) => {
      mayRead(req, res);
      const served = await useCases.list.execute();
      markStale(res, served.staleForMs);
      responder.sendList(res, served.value);
    })
    .all(methodNotAllowed('GET, HEAD'));

  namedRoute(router, '/integrations/ensure-defaults', at(`/${ENSURE_DEFAULTS}`))
    .post(guard('write'), async (_req, res) => {
      res.json(await useCases.ensureDefaults.execute());
    })
    .all(methodNotAllowed('POST'));

  const write =
    (kind: BodyKind): RequestHandler =>
    async (req, res) => {
      const id = req.params.id as string;
      const precondition = writePrecondition(req);
      const body = req.body as Record<string, unknown>;
      validator.assertValid(kind, id, body);
      const { integration, previous } = await useCases.edit.execute({ id, changes: changesIn(body), precondition });
      if (integration !== previous) {
        audit({
          integration: id,
          versionBefore: previous.version,
          versionAfter: integration.version,
          changed: integration.changedSince(previous),
          principal: (res.locals.principal as string | undefined) ?? 'open',
          requestId: res.locals.requestId as string,
        });
      }
      responder.sendRecord(res, integration);
    };

  /** RFC 9111: Age says how old the copy is, Warning 110 that it is stale (the store did not answer). */
  const markStale = (res: HttpResponse, staleForMs: number | undefined): void => {
    if (staleForMs === undefined) return;
    res.setHeader('Age', String(Math.floor(staleForMs / 1000)));
    res.setHeader('Warning', '110 integrations-service "Response is Stale"');
    onStaleRead?.();
  };

  const readRecord: RecordRead = async (req, res, id) => {
    mayRead(req, res);
    const ifNoneMatch = conditionalHeader(req, 'if-none-match');
    const served = await useCases.get.execute(id);
    const integration = served.value;
    markStale(res, served.staleForMs);
    const unchanged = ifNoneMatch === '*' || (ifNoneMatch !== undefined && weakVersions(ifNoneMatch).includes(integration.version));
    if (unchanged) responder.sendNotModified(res, integration);
    else responder.sendRecord(res, integration);
  };

  namedRoute(router, '/integrations/:id', at('/:id'))
    .get((req, res) => readRecord(req, res, req.params.id as string))
    .put(guard('write'), ...jsonBody, write('put'))
    .patch(guard('write'), ...jsonBody, write('patch'))
    .all(methodNotAllowed('GET, HEAD, PUT, PATCH'));
  return readRecord;
}

/** The body's writable fields; anything else in it (id, version, timestamps) the validator allowed and the edit ignores. */
function changesIn(body: Record<string, unknown>): IntegrationChanges {
  const changes: Record<string, unknown> = {};
  for (const field of WRITABLE_FIELD_NAMES) if (Object.hasOwn(body, field)) changes[field] = body[field];
  return changes as IntegrationChanges;
}

/** If-Match and If-None-Match as the versions the edit depends on (RFC 9110 §13.1.1-2). */
function writePrecondition(req: HttpRequest): EditPrecondition {
  const ifMatch = conditionalHeader(req, 'if-match');
  const ifNoneMatch = conditionalHeader(req, 'if-none-match');
  return {
    ...(ifMatch !== undefined && ifMatch !== '*' ? { versionIn: strongVersions(ifMatch) } : {}),
    ...(ifNoneMatch !== undefined ? { versionNotIn: ifNoneMatch === '*' ? 'any' : weakVersions(ifNoneMatch) } : {}),
  };
}

function conditionalHeader(req: HttpRequest, name: 'if-match' | 'if-none-match'): EntityTags | undefined {
  const tags = parseEntityTags(req.headers[name]);
  if (tags === null) {
    throw new HttpProblem(problems.badRequest(`${name === 'if-match' ? 'If-Match' : 'If-None-Match'} must be * or a list of quoted entity tags, such as "3".`));
  }
  return tags;
}

const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is(JSON_TYPES)) throw new HttpProblem(problems.unsupportedMediaType('Send a JSON body with Content-Type: application/json.'));
  next();
};

function methodNotAllowed(allow: string): RequestHandler {
  return (req) => {
    throw new HttpProblem(problems.methodNotAllowed(`${req.method} is not supported here; use ${allow}.`), { Allow: allow });
  };
}
