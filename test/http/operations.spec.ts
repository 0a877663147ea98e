// The routes operators and tools use: probes, metrics, the OpenAPI document and its page.
import { expect } from 'chai';
import sinon from 'sinon';
import request from 'supertest';
import { ListIntegrations } from '../../src/application/list-integrations.use-case';
import { createHttpApp } from '../../src/adapters/http/app';
import { ROUTE_NAMES } from '../../src/adapters/http/request-context';
import { Readiness } from '../../src/infrastructure/readiness';
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
      const readiness = running.container.get(Readiness);
      expect((await readiness.report()).ready).to.equal(true);
      const stopping = running.service.stop('test');
      expect(await readiness.report()).to.deep.equal({ ready: false, checks: { shutdown: 'draining' } });
      await stopping;
    });

    it('GET /metrics answers Prometheus text', async () => {
      const res = await api()
        .get('/metrics')
        .expect(200)
        .expect('Content-Type', /^text\/plain/);
      expect(res.text).to.include('# TYPE http_request_duration_seconds histogram');
    });

    it('GET /docs serves a page whose scripts and styles all come from this service', async () => {
      for (const path of ['/docs', '/docs/']) {
        const page = await api()
          .get(path)
          .expect(200)
          .expect('Content-Type', /^text\/html/);
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
      sinon
        .stub(running.container.get(ListIntegrations), 'execute')
        .rejects(new Error('boom in /srv/app/secret-path.ts'));
      const res = await api()
        .get('/integrations')
        .expect(500)
        .expect('Content-Type', /^application\/problem\+json/);
      expect(res.body).to.include({
        status: 500,
        title: 'Internal server error',
        requestId: res.headers['x-request-id'],
      });
      expect(JSON.stringify(res.body)).to.not.include('boom').and.not.include('secret-path');
      const logged = running.logs().find((line) => line.msg === 'unhandled error');
      expect(logged).to.have.property('requestId', res.headers['x-request-id']);
      await api().get('/integrations/facebook').expect(200);
    });
  });

  it('GET /metrics answers 404 when METRICS_ENABLED=false', async () => {
    running = await startService({ METRICS_ENABLED: 'false' });
    const res = await api()
      .get('/metrics')
      .expect(404)
      .expect('Content-Type', /^application\/problem\+json/);
    expect(res.body.detail).to.include('METRICS_ENABLED');
  });

  it("declares every route once in its table, and Express has exactly the table's routes, in its order", () => {
    const { express: app, routes } = createHttpApp({
      useCases: {} as never,
      logger: { error() {}, warn() {}, info() {}, debug() {} },
      readiness: () => ({ ready: true, checks: {} }),
      corsOrigins: [],
      tokens: { admin: [], read: [], gateway: [] },
      allowedHosts: ['localhost'],
      bodyLimitBytes: 1024,
      version: 'test',
    });
    expect(routes.map((route) => route.name))
      .to.have.members([...ROUTE_NAMES])
      .and.have.length(ROUTE_NAMES.length);
    type Layer = { route?: { path: unknown } };
    const declared = (app as unknown as { router: { stack: Layer[] } }).router.stack
      .filter((layer) => layer.route)
      .map((layer) => layer.route!.path);
    expect(declared).to.deep.equal(routes.map((route) => route.paths));
  });
});
