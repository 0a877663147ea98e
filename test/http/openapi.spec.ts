// The API document tells the whole truth: generated from the route table, it passes Redocly's lint and the
// official OpenAPI 3.1 schema, lists every route under every path it answers, and every answer the service gives
// (status, media type, body, headers) to a client of every route is one the document describes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import sinon from 'sinon';
import request from 'supertest';
import type { Response } from 'supertest';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { HttpApp } from '../../src/adapters/http/app';
import { ListIntegrations } from '../../src/application/list-integrations.use-case';
import { HTTP_APP } from '../../src/infrastructure/tokens';
import { type FaultyRepository, faultyUnderLayers } from '../support/faulty-repository';
import { facebookSettings } from '../support/integration.mother';
import { ROOT } from '../support/process';
import { startService, type RunningService } from '../support/service';

const ADMIN = 'openapi-admin-token-0123456789';
const READ = 'openapi-read-token-0123456789';
const GATEWAY = 'openapi-gateway-token-0123456789';

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      { responses: Record<string, { content?: Record<string, { schema: object }>; headers?: Record<string, unknown> }> }
    >
  >;
  components: object;
};

// Headers the service sends of its own accord, which a response must declare when it carries them.
const SERVICE_HEADERS = [
  'x-request-id',
  'etag',
  'cache-control',
  'age',
  'warning',
  'retry-after',
  'www-authenticate',
  'allow',
];

describe('the OpenAPI document', () => {
  let running: RunningService;
  let doc: Doc;

  before(async () => {
    running = await startService({ ADMIN_TOKENS: ADMIN, READ_TOKENS: READ, GATEWAY_TOKENS: GATEWAY });
    doc = (await request(running.url).get('/openapi.json').expect(200)).body as Doc;
  });

  after(async () => {
    sinon.restore();
    await running.stop();
  });

  it("passes Redocly's lint (@redocly/cli, recommended rules) with no error", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'openapi-'));
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const lint = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--format=json'],
      { encoding: 'utf8', cwd: ROOT },
    );
    rmSync(dir, { recursive: true, force: true });
    const report = JSON.parse(lint.stdout.slice(lint.stdout.indexOf('{'))) as {
      totals: { errors: number };
      problems: { severity: string; message: string; location: { pointer: string }[] }[];
    };
    const errors = report.problems
      .filter((problem) => problem.severity === 'error')
      .map((problem) => `${problem.location[0]?.pointer}: ${problem.message}`);
    expect(errors).to.deep.equal([]);
    expect(report.totals.errors).to.equal(0);
  });

  it('passes the official OpenAPI 3.1 schema', async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.valid, JSON.stringify(result.errors)).to.equal(true);
  });

  it(
    'lists every route the table declares under every path it answers, both prefixes, and what each operation can ' +
      'answer',
    () => {
      const { routes } = running.container.get<HttpApp>(HTTP_APP);
      const documented = routes
        .filter((route) => !route.undocumented)
        .flatMap((route) => route.paths.map((p) => p.replace(/:(\w+)/g, '{$1}')));
      expect(Object.keys(doc.paths)).to.have.members(documented);
      expect(Object.keys(doc.paths)).to.include.members([
        '/admin/integrations',
        '/admin/integrations/{id}',
        '/admin/integrations/ensure-defaults',
      ]);
      for (const [p, item] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          const statuses = Object.keys(operation.responses);
          expect(statuses, `${method} ${p}`).to.include.members(['405', '500']);
          if (p.includes('integrations'))
            expect(statuses, `${method} ${p}`).to.include.members(['400', '401', '403', '421', '503']);
        }
      }
    },
  );

  it('describes settings as an object of any keys, so a generated client can read and write them', () => {
    const components = doc.components as {
      schemas: Record<string, { properties: Record<string, { additionalProperties?: unknown; properties?: object }> }>;
    };
    expect(components.schemas.Integration!.properties.settings!.additionalProperties).to.equal(true);
    expect(Object.keys(components.schemas.FacebookSettings!.properties)).to.deep.equal([
      'verify',
      'secret',
      'page_access_token',
    ]);
  });

  describe('holds every answer to itself', () => {
    // Not strict: the document carries OpenAPI's own keywords (components, readOnly) beside the schemas.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const checked: string[] = [];

    /** The document's response for a request, or a reason it has none. */
    function documented(method: string, url: string, status: number) {
      const pathOnly = url.split('?')[0]!.replace(/\/+$/, '') || '/';
      const entry = Object.entries(doc.paths).find(([template]) =>
        new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`).test(pathOnly),
      );
      expect(entry, `${method} ${url}: no documented path`).to.not.equal(undefined);
      const operation = entry![1][method.toLowerCase()] ?? Object.values(entry![1])[0]!; // a method the path lacks: any of its operations documents the 405
      const response = operation.responses[String(status)];
      expect(response, `${method} ${url} answered ${status}, which the document does not list`).to.not.equal(undefined);
      return response!;
    }

    function check(method: string, url: string, res: Response): void {
      const response = documented(method, url, res.status);
      const what = `${method} ${url} → ${res.status}`;
      for (const name of SERVICE_HEADERS) {
        if (res.headers[name] !== undefined)
          expect(
            Object.keys(response.headers ?? {}).map((h) => h.toLowerCase()),
            `${what}: header ${name}`,
          ).to.include(name);
      }
      expect(res.headers['x-request-id'], `${what}: X-Request-Id`).to.be.a('string');
      if (res.text === '' || res.status === 304) {
        checked.push(what);
        return;
      }
      const type = String(res.headers['content-type']).split(';')[0]!;
      const content = response.content ?? {};
      expect(Object.keys(content), `${what}: media type`).to.include(type);
      if (type.endsWith('json')) {
        const schema = JSON.parse(
          JSON.stringify(content[type]!.schema).replace(/"#\/components\//g, '"doc#/components/'),
        );
        if (!ajv.getSchema('doc')) ajv.addSchema({ $id: 'doc', components: doc.components } as never);
        const validate = ajv.compile(schema);
        expect(validate(JSON.parse(res.text)), `${what}: ${JSON.stringify(validate.errors)}`).to.equal(true);
      }
      checked.push(what);
    }

    async function send(
      method: string,
      url: string,
      options: { token?: string; headers?: Record<string, string>; body?: unknown; on?: RunningService } = {},
    ): Promise<Response> {
      let req = request((options.on ?? running).url)[method.toLowerCase() as 'get'](url);
      if (options.token) req = req.set('Authorization', `Bearer ${options.token}`);
      for (const [name, value] of Object.entries(options.headers ?? {})) req = req.set(name, value);
      if (options.body !== undefined)
        req =
          typeof options.body === 'string'
            ? req.set('Content-Type', 'text/plain').send(options.body)
            : req.send(options.body as object);
      const res = await req;
      check(method, url, res);
      return res;
    }

    it('for every route, under both prefixes, in each status a client can meet', async () => {
      const record = {
        name: 'Facebook Messenger',
        description: 'Connect with Facebook Messenger',
        status: true,
        settings: facebookSettings(),
      };
      for (const prefix of ['/integrations', '/admin/integrations']) {
        await send('GET', `${prefix}/`, { token: READ });
        await send('GET', prefix);
        await send('GET', prefix, { token: READ, headers: { Host: 'rebind.attacker.example' } });
        await send('GET', prefix, { token: GATEWAY });
        await send('DELETE', prefix, { token: ADMIN });
        const read = await send('GET', `${prefix}/facebook`, { token: READ });
        await send('GET', `${prefix}/facebook`, {
          token: READ,
          headers: { 'If-None-Match': read.headers.etag as string },
        });
        await send('GET', `${prefix}/facebook`, { token: READ, headers: { 'If-None-Match': 'junk' } });
        await send('GET', `${prefix}/no-such-id`, { token: READ });
        await send('GET', `${prefix}/%ZZ`, { token: READ });
        await send('GET', `${prefix}/facebook`, { token: 'not-a-token-at-all-0123' });
        await send('PUT', `${prefix}/facebook`, { token: ADMIN, body: record });
        await send('PUT', `${prefix}/facebook`, { token: ADMIN, headers: { 'If-Match': '"1"' }, body: record });
        await send('PUT', `${prefix}/telegram`, { token: ADMIN, body: { name: 't', description: '' } });
        await send('PUT', `${prefix}/facebook`, { token: ADMIN, body: 'name=x' });
        await send('PUT', `${prefix}/facebook`, {
          token: ADMIN,
          body: { ...record, settings: { blob: 'x'.repeat(70_000) } },
        });
        await send('PUT', `${prefix}/facebook`, { token: READ, body: record });
        await send('PATCH', `${prefix}/facebook`, { token: ADMIN, body: { status: false } });
        await send('PATCH', `${prefix}/facebook`, { token: ADMIN, body: { name: '', settings: { verify: 'v' } } });
        await send('PATCH', `${prefix}/facebook`, {
          token: GATEWAY,
          headers: { 'X-Forwarded-User': 'alice' },
          body: { status: true },
        });
        await send('PATCH', `${prefix}/facebook`, {
          token: ADMIN,
          headers: { 'X-Forwarded-User': 'mallory' },
          body: { status: true },
        });
        await send('DELETE', `${prefix}/facebook`, { token: ADMIN });
        await send('POST', `${prefix}/ensure-defaults`, { token: ADMIN, body: {} });
        await send('POST', `${prefix}/ensure-defaults`, { token: ADMIN, body: 'x' });
        await send('GET', `${prefix}/ensure-defaults`, { token: ADMIN });
      }
      for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
        await send('GET', p);
        await send('POST', p);
      }
      sinon.stub(running.container.get(ListIntegrations), 'execute').rejects(new Error('boom'));
      await send('GET', '/integrations', { token: READ });
      sinon.restore();
      expect(checked.length).to.be.greaterThan(60);
    });

    it('when the store does not answer', async () => {
      let store!: FaultyRepository;
      const failing = await startService(
        { ADMIN_TOKENS: ADMIN, STORE_TIMEOUT_MS: '200', CACHE_TTL_MS: '0', STALE_IF_ERROR_MS: '0' },
        {
          overrides: {
            underLayers: faultyUnderLayers((made) => (store = made)),
          },
        },
      );
      try {
        store.behaviour = 'fail';
        const auth = { token: ADMIN, on: failing };
        for (const [method, url, body] of [
          ['GET', '/integrations', undefined],
          ['GET', '/admin/integrations/facebook', undefined],
          ['PATCH', '/integrations/facebook', { status: true }],
          ['POST', '/admin/integrations/ensure-defaults', {}],
        ] as const) {
          expect((await send(method, url, { ...auth, body })).status).to.equal(503);
        }
      } finally {
        store.recover();
        await failing.stop();
      }
    });
  });
});
