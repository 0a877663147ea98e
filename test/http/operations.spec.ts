// The routes operators and tools use: probes, metrics, the OpenAPI document and its page.
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import sinon from 'sinon';
import request from 'supertest';
import { ListIntegrations } from '../../src/application/list-integrations.use-case';
import { createHttpApp } from '../../src/adapters/http/app';
import { createAjv } from '../../src/adapters/http/body-validator';
import { patchBodySchema, putBodySchema, settingsSchemaFor } from '../../src/adapters/http/integration.schemas';
import type { Readiness } from '../../src/infrastructure/readiness';
import { READINESS } from '../../src/infrastructure/tokens';
import { startService, type RunningService } from '../support/service';

describe('operations routes', () => {
  let running: RunningService;
  const api = () => request(running.url);

  afterEach(async () => {
    sinon.restore();
    await running.stop();
  });

  describe('with the defaults', () => {
    beforeEach(async () => {
      running = await startService();
    });

    it('GET /healthz answers 200', async () => {
      await api().get('/healthz').expect(200, { status: 'ok' });
      await api().get('/healthz/').expect(200);
    });

    it('GET /readyz answers 200 once the store answers and the defaults are ensured', async () => {
      const res = await api().get('/readyz').expect(200);
      expect(res.body).to.deep.equal({ status: 'ready', checks: { store: 'ok', defaults: 'ensured' } });
    });

    it('reports not ready from the moment shutdown begins', async () => {
      const readiness = running.container.get<Readiness>(READINESS);
      expect((await readiness.report()).ready).to.equal(true);
      const stopping = running.service.stop('test');
      expect(await readiness.report()).to.deep.equal({ ready: false, checks: { shutdown: 'draining' } });
      await stopping;
    });

    it('GET /metrics answers Prometheus text', async () => {
      const res = await api().get('/metrics').expect(200).expect('Content-Type', /^text\/plain/);
      expect(res.text).to.include('# TYPE http_request_duration_seconds histogram');
    });

    it('GET /openapi.json is OpenAPI 3.1 with every route, and embeds exactly the schemas requests are checked against', async () => {
      const doc = (await api().get('/openapi.json').expect(200).expect('Content-Type', /^application\/json/)).body;
      expect(doc.openapi).to.equal('3.1.0');
      const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(operations).to.have.members([
        'GET /integrations',
        'POST /integrations/ensure-defaults',
        'GET /integrations/{id}',
        'PUT /integrations/{id}',
        'PATCH /integrations/{id}',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /docs',
      ]);
      const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value));
      expect(doc.components.schemas.IntegrationPut).to.deep.equal(roundTrip(putBodySchema(settingsSchemaFor('chat_widget'))));
      expect(doc.components.schemas.IntegrationPatch).to.deep.equal(roundTrip(patchBodySchema(settingsSchemaFor('chat_widget'))));
      expect(doc.components.schemas.FacebookIntegrationPut).to.deep.equal(roundTrip(putBodySchema(settingsSchemaFor('facebook'))));
      // Every schema in the document compiles under the validator's own rules.
      const ajv = createAjv();
      for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, object>)) {
        if (!JSON.stringify(schema).includes('$ref')) expect(() => ajv.compile(schema), name).to.not.throw();
      }
    });

    it('GET /openapi.json passes the official OpenAPI 3.1 schema', async () => {
      const doc = (await api().get('/openapi.json').expect(200)).body;
      const result = await new Validator().validate(doc);
      expect(result.valid, JSON.stringify(result.errors)).to.equal(true);
    });

    it('GET /docs serves a page whose scripts and styles all come from this service', async () => {
      for (const path of ['/docs', '/docs/']) {
        const page = await api().get(path).expect(200).expect('Content-Type', /^text\/html/);
        const urls = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
        expect(urls.length).to.be.at.least(3);
        for (const url of urls) {
          expect(url).to.match(/^\/docs\//);
          await api().get(url).expect(200);
        }
      }
      const init = await api().get('/docs/init.js').expect(200);
      expect(init.text).to.include("url: '/openapi.json'").and.include('validatorUrl: null');
      await api().get('/docs/assets/swagger-initializer.js').expect(404);
    });

    it('answers an unexpected failure with 500 problem+json carrying the request id, and nothing internal', async () => {
      sinon.stub(running.container.get(ListIntegrations), 'execute').rejects(new Error('boom in /srv/app/secret-path.ts'));
      const res = await api().get('/integrations').expect(500).expect('Content-Type', /^application\/problem\+json/);
      expect(res.body).to.include({ status: 500, title: 'Internal server error', requestId: res.headers['x-request-id'] });
      expect(JSON.stringify(res.body)).to.not.include('boom').and.not.include('secret-path');
      const logged = running.logs().find((line) => line.msg === 'unhandled error');
      expect(logged).to.have.property('requestId', res.headers['x-request-id']);
      await api().get('/integrations/facebook').expect(200);
    });
  });

  it('GET /metrics answers 404 when METRICS_ENABLED=false', async () => {
    running = await startService({ METRICS_ENABLED: 'false' });
    const res = await api().get('/metrics').expect(404).expect('Content-Type', /^application\/problem\+json/);
    expect(res.body.detail).to.include('METRICS_ENABLED');
  });

  it('names every route it has: each method of each route starts with the tag namedRoute adds', () => {
    const { express: app } = createHttpApp({
      useCases: {} as never,
      logger: { error() {}, warn() {}, info() {}, debug() {} },
      readiness: () => ({ ready: true, checks: {} }),
      corsOrigins: [],
      tokens: { admin: [], read: [] },
      bodyLimitBytes: 1024,
      version: 'test',
    });
    type Route = { path: unknown; stack: { method?: string; handle: { name: string } }[] };
    type Layer = { route?: Route; handle?: { stack?: Layer[] } };
    // Every route, in the app's router and in the routers mounted in it.
    const routesIn = (stack: Layer[]): Route[] => stack.flatMap((layer) => (layer.route ? [layer.route] : layer.handle?.stack ? routesIn(layer.handle.stack) : []));
    const routes = routesIn((app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(routes.length).to.equal(10); // the ten ROUTE_NAMES
    for (const route of routes) {
      const firstByMethod = new Map<string, string>();
      for (const layer of route!.stack) if (!firstByMethod.has(layer.method ?? '_all')) firstByMethod.set(layer.method ?? '_all', layer.handle.name);
      for (const [method, name] of firstByMethod) expect(name, `${method} ${String(route!.path)}`).to.equal('namedRouteTag');
    }
  });
});
