// The integrations routes, each declared once for both prefixes (/integrations and /admin/integrations): what
// each operation does, who may call it, and what it answers.
import { WRITABLE_FIELD_NAMES } from '../../domain/integration-fields';
import type { Integration, IntegrationChanges } from '../../domain/integration.entity';
import { FIXED_STRING_SETTINGS } from '../../domain/integration-rules';
import type { EditIntegration, EditPrecondition } from '../../application/edit-integration.use-case';
import type { EnsureDefaultIntegrations } from '../../application/ensure-default-integrations.use-case';
import type { GetIntegration } from '../../application/get-integration.use-case';
import type { ListIntegrations } from '../../application/list-integrations.use-case';
import type { Served } from '../../application/served';
import type { Principal } from './auth';
import type { BodyKind, BodyValidator } from './body-validator';
import { parseEntityTags, strongVersions, weakVersions, type EntityTags } from './etag';
import { ensureDefaultsResultSchema, schemaName } from './integration.schemas';
import { HttpProblem, problems } from './problem';
import type { RecordResponder } from './record-responder';
import { underPrefixes, type Operation, type ResponseDoc, type RouteSpec } from './route-table';
import {
  JSON_TYPE,
  framedBody,
  writeAnswer,
  type HttpRequest,
  type HttpResponse,
  type RouteRequest,
} from './request-context';

export interface IntegrationUseCases {
  list: ListIntegrations;
  get: GetIntegration;
  edit: EditIntegration;
  ensureDefaults: EnsureDefaultIntegrations;
}

/** What an acknowledged write leaves in the audit log: who, from where, what changed; never a value. */
export interface AuditEntry {
  integration: string;
  /** 0: the record was created. */
  versionBefore: number;
  versionAfter: number;
  changed: string[];
  /** The signed-in person (via a gateway), else the token's label; `open` when the API runs without tokens. */
  actor: string;
  tokenLabel: string;
  clientAddress: string;
  requestId: string;
  clientRequestId?: string;
}

export interface IntegrationRoutesOptions {
  audit: (entry: AuditEntry) => void;
  /** Told of every read answered from a stale copy because the store was down. */
  onStaleRead?: () => void;
  /** The ids of stored records this replica cannot open: the list leaves them out and names them. */
  unreadable?: () => readonly string[];
  validator: BodyValidator;
  responder: RecordResponder;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string, description: string) => ({
  name,
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description,
});
const record: ResponseDoc = {
  description: 'The record; ETag carries its version.',
  content: { 'application/json': ref(schemaName.record) },
  headers: ['ETag', 'Cache-Control'],
};

function writeOperation(kind: BodyKind, edit: (req: RouteRequest, res: HttpResponse) => Promise<void>): Operation {
  const name = kind === 'put' ? schemaName.put : schemaName.patch;
  const fixed = Object.keys(FIXED_STRING_SETTINGS).map((id) => ref(schemaName.fixed(id, kind)));
  return {
    access: 'write',
    body: 'json',
    handle: edit,
    doc: {
      operationId: kind === 'put' ? 'updateIntegration' : 'patchIntegration',
      summary:
        kind === 'put'
          ? 'Update an integration (the admin UI sends the whole record it read)'
          : 'Change some fields of an integration',
      description:
        'Never creates: an unknown id is 404. Unknown fields are refused (422). `version`, `createdAt` and ' +
        '`updatedAt` in the body are ignored. ' +
        'Send `If-Match` with the ETag you read to refuse a lost update (412); `If-None-Match: *` on a write is 412 ' +
        '(the record exists). ' +
        `Integrations with fixed settings (${Object.keys(FIXED_STRING_SETTINGS).join(', ')}) use their own schema.`,
      tags: ['integrations'],
      parameters: [
        header('If-Match', 'Entity tags the record must be at ("3"), or *'),
        header('If-None-Match', 'Entity tags the record must not be at, or * (always 412 on a write)'),
      ],
      requestBody: { required: true, content: { 'application/json': { schema: { anyOf: [...fixed, ref(name)] } } } },
      responses: {
        200: record,
        404: { description: 'No integration with this id', problem: true },
        412: { description: 'If-Match no longer matches (or If-None-Match does); nothing was changed', problem: true },
        413: { description: 'Body larger than 64 KiB', problem: true },
        415: { description: 'Body is not application/json', problem: true },
        422: { description: 'The body breaks the schema; `errors` names each field', problem: true },
      },
      usesStore: true,
    },
  };
}

export function integrationRoutes(
  useCases: IntegrationUseCases,
  { audit, onStaleRead, unreadable, validator, responder }: IntegrationRoutesOptions,
): RouteSpec[] {
  /** RFC 9111: Age says how old the copy is, Warning 110 that it is stale (the store did not answer). */
  const markStale = (res: HttpResponse, staleForMs: number | undefined): void => {
    if (staleForMs === undefined) return;
    res.setHeader('Age', String(Math.floor(staleForMs / 1000)));
    res.setHeader('Warning', '110 integrations-service "Response is Stale"');
    onStaleRead?.();
  };

  // Written field by field: on Node 20 an object literal that spreads one object and then adds properties takes V8's
  // slow path (docs/design.md).
  const auditEntry = (
    res: HttpResponse,
    integration: Integration,
    versionBefore: number,
    changed: string[],
  ): AuditEntry => {
    const principal = res.locals.principal as Principal | undefined;
    const entry: AuditEntry = {
      integration: integration.id,
      versionBefore,
      versionAfter: integration.version,
      changed,
      actor: principal?.actor ?? 'open',
      tokenLabel: principal?.tokenLabel ?? 'open',
      clientAddress: principal?.clientAddress ?? 'unknown',
      requestId: res.locals.requestId,
    };
    if (res.locals.clientRequestId !== undefined) entry.clientRequestId = res.locals.clientRequestId;
    return entry;
  };

  const write =
    (kind: BodyKind) =>
    async (req: RouteRequest, res: HttpResponse): Promise<void> => {
      const id = req.params.id!;
      const precondition = writePrecondition(req);
      const body = (req as { body?: unknown }).body as Record<string, unknown>;
      validator.assertValid(kind, id, body);
      // A client already gone (a reset, garbage after it on a pipelined connection) gets no answer: nothing is written.
      if (req.socket.destroyed) return;
      const { integration, previous } = await useCases.edit.execute({ id, changes: changesIn(body), precondition });
      if (integration !== previous)
        audit(auditEntry(res, integration, previous.version, integration.changedSince(previous)));
      responder.sendRecord(res, integration);
    };

  return [
    {
      name: '/integrations',
      paths: underPrefixes(''),
      direct: true,
      methods: {
        GET: {
          access: 'read',
          async handle(_req, res) {
            const served = await useCases.list.execute();
            markStale(res, served.staleForMs);
            const left = unreadable?.() ?? [];
            if (left.length > 0) res.setHeader('Unreadable-Integrations', left.join(', '));
            responder.sendList(res, served.value);
          },
          doc: {
            operationId: 'listIntegrations',
            summary: 'List all integrations, sorted by id',
            tags: ['integrations'],
            responses: {
              200: {
                description:
                  'The records, at most 1,000, the first by id. While the store is down, a copy this replica served ' +
                  'within STALE_IF_ERROR_MS, with Age and Warning: 110. ' +
                  'A record this replica cannot open is left out and named in Unreadable-Integrations (reading it ' +
                  'answers 503).',
                content: { 'application/json': { type: 'array', items: ref(schemaName.record) } },
                headers: ['Cache-Control', 'Age', 'Warning', 'Unreadable-Integrations'],
              },
            },
            usesStore: true,
          },
        },
      },
    },
    {
      name: '/integrations/ensure-defaults',
      paths: underPrefixes('/ensure-defaults'),
      methods: {
        POST: {
          access: 'write',
          // A JSON body (even `{}`) is required: a plain form post from another site cannot trigger it.
          body: 'json',
          async handle(_req, res) {
            const result = await useCases.ensureDefaults.execute();
            for (const created of result.created) audit(auditEntry(res, created, 0, [...WRITABLE_FIELD_NAMES]));
            const body = JSON.stringify({
              created: result.created.map((created) => created.id),
              existing: result.existing,
            });
            const framed = framedBody(body, JSON_TYPE);
            writeAnswer(res, 200, framed.headers, body, framed.encoding);
          },
          doc: {
            operationId: 'ensureDefaultIntegrations',
            summary: 'Insert the default integrations that are missing; never overwrites',
            description:
              'Send a JSON body (`{}`): a request without one is refused (415), so a form on another site cannot ' +
              'trigger it.',
            tags: ['integrations'],
            requestBody: {
              required: true,
              content: { 'application/json': { schema: { type: 'object', maxProperties: 0 } } },
            },
            responses: {
              200: {
                description: 'Which defaults were created and which existed',
                content: { 'application/json': ensureDefaultsResultSchema },
              },
              413: { description: 'Body larger than 64 KiB', problem: true },
              415: { description: 'Body is not application/json', problem: true },
            },
            usesStore: true,
          },
        },
      },
    },
    {
      name: '/integrations/:id',
      paths: underPrefixes('/:id'),
      direct: true,
      methods: {
        GET: {
          access: 'read',
          handle(req, res) {
            const ifNoneMatch = conditionalHeader(req, 'if-none-match');
            const seen = ifNoneMatch === undefined || ifNoneMatch === '*' ? [] : weakVersions(ifNoneMatch);
            const answer = ({ value: integration, staleForMs }: Served<Integration>): void => {
              markStale(res, staleForMs);
              if (ifNoneMatch === '*' || seen.includes(integration.version))
                responder.sendNotModified(res, integration);
              else responder.sendRecord(res, integration);
            };
            // The read cache's current copy is answered in this turn; a read of the store when it is done.
            const served = useCases.get.execute({
              id: req.params.id!,
              seenVersion: seen.length > 0 ? Math.max(...seen) : undefined,
            });
            return served instanceof Promise ? served.then(answer) : answer(served);
          },
          doc: {
            operationId: 'getIntegration',
            summary: 'Read one integration',
            tags: ['integrations'],
            parameters: [
              header('If-None-Match', 'Entity tags the client holds: 304 when the record is at one of them'),
            ],
            responses: {
              200: {
                ...record,
                description:
                  `${record.description} While the store is down, a copy this replica served within ` +
                  `STALE_IF_ERROR_MS, with Age and Warning: 110 (never one older than a version the client's ` +
                  `If-None-Match names).`,
                headers: ['ETag', 'Cache-Control', 'Age', 'Warning'],
              },
              304: { description: 'If-None-Match names the current version', headers: ['ETag', 'Cache-Control'] },
              404: { description: 'No integration with this id', problem: true },
            },
            usesStore: true,
          },
        },
        PUT: writeOperation('put', write('put')),
        PATCH: writeOperation('patch', write('patch')),
      },
    },
  ];
}

/** The body's writable fields; anything else in it (id, version, timestamps) the validator allowed and the edit
 * ignores. */
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
    throw new HttpProblem(
      problems.badRequest(
        `${name === 'if-match' ? 'If-Match' : 'If-None-Match'} must be * or a list of quoted entity tags, such as "3".`,
      ),
    );
  }
  return tags;
}
