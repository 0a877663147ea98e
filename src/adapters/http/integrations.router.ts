// The integrations routes, mounted by the app under /integrations and /admin/integrations alike.
import express, { Router, type RequestHandler, type Response } from 'express';
import type { Integration, IntegrationChanges } from '../../domain/integration.entity';
import type { EnsureDefaultIntegrations } from '../../application/ensure-default-integrations.use-case';
import type { GetIntegration } from '../../application/get-integration.use-case';
import type { ListIntegrations } from '../../application/list-integrations.use-case';
import type { PatchIntegration } from '../../application/patch-integration.use-case';
import type { UpdateIntegration } from '../../application/update-integration.use-case';
import type { Access } from './auth';
import type { BodyKind, BodyValidator } from './body-validator';
import { etagOf, ifMatchVersions, noneMatch } from './etag';
import { HttpProblem, problems } from './problem';
import { tagRoute } from './request-context';

export interface IntegrationUseCases {
  list: ListIntegrations;
  get: GetIntegration;
  update: UpdateIntegration;
  patch: PatchIntegration;
  ensureDefaults: EnsureDefaultIntegrations;
}

export interface IntegrationsRouterOptions {
  authorize: (access: Access) => RequestHandler;
  validator: BodyValidator;
  bodyLimitBytes: number;
}

const JSON_TYPES = ['application/json', 'application/*+json'];

export function integrationsRouter(useCases: IntegrationUseCases, { authorize, validator, bodyLimitBytes }: IntegrationsRouterOptions): Router {
  const router = Router();
  const jsonBody: RequestHandler[] = [requireJson, express.json({ limit: bodyLimitBytes, type: JSON_TYPES, strict: true })];

  router
    .route('/')
    .all(tagRoute)
    .get(authorize('read'), async (_req, res) => {
      const all = await useCases.list.execute();
      res.set('Cache-Control', 'no-cache').json(all.map((integration) => integration.toPrimitives()));
    })
    .all(methodNotAllowed('GET, HEAD'));

  router
    .route('/ensure-defaults')
    .all(tagRoute)
    .post(authorize('write'), async (_req, res) => {
      res.json(await useCases.ensureDefaults.execute());
    })
    .all(methodNotAllowed('POST'));

  const write = (kind: BodyKind): RequestHandler => async (req, res) => {
    const id = req.params.id as string;
    const body = req.body as Record<string, unknown>;
    validator.assertValid(kind, id, body);
    const input = {
      id,
      bodyId: body.id,
      changes: changesIn(body),
      expectedVersion: await expectedVersion(useCases.get, id, req.get('if-match')),
    };
    sendRecord(res, await (kind === 'put' ? useCases.update : useCases.patch).execute(input));
  };

  router
    .route('/:id')
    .all(tagRoute)
    .get(authorize('read'), async (req, res) => {
      const integration = await useCases.get.execute(req.params.id as string);
      if (!noneMatch(req.get('if-none-match'), integration.version)) {
        res.status(304).set('ETag', etagOf(integration.version)).end();
        return;
      }
      sendRecord(res, integration);
    })
    .put(authorize('write'), ...jsonBody, write('put'))
    .patch(authorize('write'), ...jsonBody, write('patch'))
    .all(methodNotAllowed('GET, HEAD, PUT, PATCH'));

  return router;
}

function sendRecord(res: Response, integration: Integration): void {
  res.status(200).set('ETag', etagOf(integration.version)).set('Cache-Control', 'no-cache').json(integration.toPrimitives());
}

function changesIn(body: Record<string, unknown>): IntegrationChanges {
  const { name, description, status, settings } = body as IntegrationChanges;
  return { name, description, status, settings };
}

/**
 * The one version a write is conditional on. If-Match may list several tags: then the write is
 * conditional on the current version when that is among them, and fails (412) otherwise.
 */
async function expectedVersion(get: GetIntegration, id: string, ifMatch: string | undefined): Promise<number | undefined> {
  const versions = ifMatchVersions(ifMatch);
  if (versions === undefined) return undefined;
  if (versions.length <= 1) return versions[0] ?? -1;
  const current = await get.execute(id);
  return versions.includes(current.version) ? current.version : -1;
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
