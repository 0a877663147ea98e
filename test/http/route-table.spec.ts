// One route table (src/adapters/http/route-table.ts) drives Express and the direct read, which answers the GETs of
// the routes marked `direct` (the bot runtime's read of one record, the admin UI's list) without Express. These
// tests hold the direct read to answering only what Express would give those routes, exactly as Express answers
// it: every declared route in every spelling the app accepts, and the reads in every form a client may send (HEAD,
// encoded and reserved ids, bad tokens and tags, browsers' origins, bodies on a GET), go to the service and to the
// same listener with the direct read off, and status, headers, body and log line must match.
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import express from 'express';
import type { HttpApp } from '../../src/adapters/http/app';
import type { RouteName } from '../../src/adapters/http/request-context';
import { assertNoShadowedRoute, mountRoutes, underPrefixes, type RouteSpec } from '../../src/adapters/http/route-table';
import { HTTP_APP } from '../../src/infrastructure/tokens';
import { startService, type RunningService } from '../support/service';

const READ = 'direct-read-token-0123456789';
const ADMIN = 'direct-admin-token-0123456789';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

// Connections kept alive, as the bot runtime's client keeps them (a connection per request is most of the time).
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Per connection, moment or request, not per answer: the date, the keep-alive, the request id.
const comparable = ({
  date: _date,
  'keep-alive': _keepAlive,
  'x-request-id': _id,
  ...headers
}: IncomingHttpHeaders): IncomingHttpHeaders => headers;

const PATHS = [
  '/integrations',
  '/admin/integrations/',
  '/integrations/facebook',
  '/admin/integrations/facebook',
  '/integrations/chat_widget',
  '/integrations/no-such-id',
  '/integrations/facebook?fields=all',
  '/integrations/facebook?',
  '/integrations/facebook/',
  '/INTEGRATIONS/facebook',
  '/Admin/Integrations/facebook',
  '/integrations/FACEBOOK',
  '/integrations/ensure-defaults',
  '/integrations/Ensure-Defaults',
  '/integrations/constructor',
  '/integrations/__proto__',
  '/integrations/%66acebook',
  '/integrations/%ZZ',
  '//integrations/facebook',
  '/integrations/a.b',
  `/integrations/${'x'.repeat(129)}`,
  `/integrations/${'x'.repeat(128)}`,
];

const HEADERS: Record<string, string>[] = [
  {},
  { Authorization: `Bearer ${READ}` },
  { Authorization: `bearer   ${ADMIN}  ` },
  { Authorization: 'Bearer not-a-token' },
  { Authorization: 'Bearer' },
  { Authorization: `Basic ${READ}` },
  { Authorization: `Bearer ${READ}`, 'If-None-Match': '"1"' },
  { Authorization: `Bearer ${READ}`, 'If-None-Match': 'W/"1", "7"' },
  { Authorization: `Bearer ${READ}`, 'If-None-Match': '*' },
  { Authorization: `Bearer ${READ}`, 'If-None-Match': '"01"' },
  { Authorization: `Bearer ${READ}`, 'If-None-Match': 'garbage' },
  { Authorization: `Bearer ${READ}`, 'If-None-Match': '' },
  { Authorization: `Bearer ${READ}`, Origin: 'http://admin.example' },
  { Authorization: `Bearer ${READ}`, Origin: 'http://evil.example' },
  { Origin: 'http://admin.example' },
];

describe('the direct read answers as the Express app does', () => {
  let running: RunningService;
  let expressOnly: Server;
  let port: { service: number; express: number };
  let handledByExpress: sinon.SinonSpy;
  let routes: HttpApp['routes'];

  before(async () => {
    running = await startService({ READ_TOKENS: READ, ADMIN_TOKENS: ADMIN, CORS_ORIGINS: 'http://admin.example' });
    const app = running.container.get<HttpApp>(HTTP_APP);
    routes = app.routes;
    expressOnly = createServer(app.viaExpressOnly);
    await new Promise<void>((resolve) => expressOnly.listen(0, '127.0.0.1', resolve));
    port = { service: Number(new URL(running.url).port), express: (expressOnly.address() as AddressInfo).port };
    // Express calls its app's handle() for every request it is given.
    handledByExpress = sinon.spy(app.express as unknown as { handle: (...args: unknown[]) => void }, 'handle');
  });

  after(async () => {
    agent.destroy();
    sinon.restore();
    await new Promise((resolve) => expressOnly.close(resolve));
    await running.stop();
  });

  /** The log line of a request, by the request id the service answered with, without what differs per request. */
  function lineOf(answer: Answer): Record<string, unknown> {
    const line = running.logs().find((l) => l.msg === 'request' && l.requestId === answer.headers['x-request-id']);
    expect(line, `a log line for ${String(answer.headers['x-request-id'])}`).to.not.equal(undefined);
    const { time: _time, durationMs: _duration, requestId: _id, ...rest } = line!;
    return rest;
  }

  /** Sends one request to both; answers and log lines compared; says whether the service used Express. */
  async function compare(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<boolean> {
    const sent = { ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) };
    const before = handledByExpress.callCount;
    const viaService = await send(port.service, method, path, sent, body);
    const serviceUsedExpress = handledByExpress.callCount > before;
    const viaExpress = await send(port.express, method, path, sent, body);
    const what = `${method} ${path} ${JSON.stringify(headers)}`;
    expect(viaService.status, what).to.equal(viaExpress.status);
    // /metrics counts the requests themselves: its text differs between any two answers.
    const changing = viaService.headers['content-type']?.startsWith('text/plain; version=');
    if (changing) viaService.body = viaExpress.body;
    const sizeless = ({ 'content-length': _length, ...rest }: IncomingHttpHeaders): IncomingHttpHeaders =>
      changing ? rest : { 'content-length': _length, ...rest };
    expect(sizeless(comparable(viaService.headers)), what).to.deep.equal(sizeless(comparable(viaExpress.headers)));
    // The request id differs (each answer has its own); everything else in a problem body is the same.
    expect(viaService.body.replace(String(viaService.headers['x-request-id']), '<id>'), what).to.equal(
      viaExpress.body.replace(String(viaExpress.headers['x-request-id']), '<id>'),
    );
    const viaExpressLine = lineOf(viaExpress);
    expect(lineOf(viaService), what).to.deep.equal(viaExpressLine);
    // The direct read only ever answers what Express gives a direct route's GET.
    if (!serviceUsedExpress) {
      expect(method, what).to.equal('GET');
      expect(
        routes.filter((route) => route.direct).map((route) => route.name),
        what,
      ).to.include(viaExpressLine.route);
    }
    return serviceUsedExpress;
  }

  it('for every path, method, token, entity tag and origin a client may send to a record', async () => {
    let direct = 0;
    for (const path of PATHS) {
      for (const headers of HEADERS) if (!(await compare('GET', path, headers))) direct += 1;
      // HEAD never takes the direct read: a few forms of it are enough to show it goes to Express alike.
      for (const headers of HEADERS.slice(0, 3)) expect(await compare('HEAD', path, headers)).to.equal(true);
    }
    // The plain reads were answered directly (the comparison above is not Express against itself).
    expect(direct).to.be.greaterThan(PATHS.length);
  });

  it('answers directly every spelling Express gives the reads, and sends everything else to Express', async () => {
    for (const path of [
      '/integrations',
      '/Admin/Integrations/?x=1',
      '/integrations/facebook',
      '/admin/integrations/chat_widget?x=1',
      '/integrations/no-such-id',
      '/INTEGRATIONS/facebook',
      '/integrations/facebook/',
      '/integrations/%66acebook',
    ]) {
      expect(await compare('GET', path, { Authorization: `Bearer ${READ}` }), path).to.equal(false);
    }
    for (const [method, path] of [
      ['HEAD', '/integrations/facebook'],
      ['GET', '/integrations/%ZZ'],
      ['GET', '/integrations/ensure-defaults'],
      ['GET', '/integrations/ENSURE-DEFAULTS/'],
      ['HEAD', '/integrations'],
      ['PUT', '/integrations/facebook'],
    ]) {
      expect(await compare(method!, path!, { Authorization: `Bearer ${READ}` }), `${method} ${path}`).to.equal(true);
    }
  });

  it(
    'walks every declared route in every spelling the app accepts: the direct read answers none that Express gives ' +
      'another route',
    async () => {
      const samples: Record<string, string[]> = {
        id: ['facebook', 'ensure-defaults', 'no-such-id'],
        file: ['swagger-ui.css', 'nothing.js'],
      };
      const concrete = (template: string): string[] =>
        template
          .split('/')
          .reduce<string[]>(
            (paths, segment) => {
              const values = segment.startsWith(':') ? samples[segment.slice(1)]! : [segment];
              return paths.flatMap((p) => values.map((v) => (p === '' && v === '' ? '' : `${p}/${v}`)));
            },
            [''],
          )
          .map((p) => p.replace(/^\/+/, '/'));
      const spellings = (path: string): string[] => {
        const last = path.lastIndexOf('/') + 1;
        const encoded = `${path.slice(0, last)}%${path.charCodeAt(last).toString(16)}${path.slice(last + 1)}`;
        return [
          path,
          `${path}/`,
          path.toUpperCase(),
          path.replace(/[a-z]/, (c) => c.toUpperCase()),
          encoded,
          `${path}?a=1`,
          `${path}//`,
        ];
      };
      let compared = 0;
      let direct = 0;
      for (const route of routes) {
        for (const path of route.paths.flatMap(concrete).flatMap(spellings)) {
          for (const method of [...Object.keys(route.methods), 'HEAD', 'DELETE']) {
            compared += 1;
            if (!(await compare(method, path, { Authorization: `Bearer ${ADMIN}` }))) direct += 1;
          }
        }
      }
      expect(compared).to.be.greaterThan(300);
      // And the direct read did answer (the comparison is not Express against itself).
      expect(direct).to.be.greaterThan(10);
    },
  );

  it('for generated reads: ids, queries, tokens, entity tags and origins (fast-check, seeded)', async () => {
    // Printable ASCII: what an HTTP client can put in a header value at all.
    const text = (maxLength: number) =>
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength });
    const read = fc.record({
      prefix: fc.constantFrom('/integrations/', '/admin/integrations/'),
      id: fc.oneof(
        fc.constantFrom('facebook', 'chat_widget', 'ensure-defaults', 'toString', '__proto__'),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
      ),
      query: fc.constantFrom('', '?', '?a=1', '?a=%ZZ&b', '?__proto__[x]=1'),
      authorization: fc.option(
        fc.oneof(
          fc.constant(`Bearer ${READ}`),
          fc.constant(`Bearer ${ADMIN}`),
          text(40).map((t) => `Bearer ${t}`),
          text(20),
        ),
        { nil: undefined },
      ),
      ifNoneMatch: fc.option(fc.oneof(fc.constantFrom('"1"', '"2"', 'W/"1"', '*', '"1", "2"', '"0"'), text(12)), {
        nil: undefined,
      }),
      origin: fc.option(fc.constantFrom('http://admin.example', 'http://evil.example', 'null'), { nil: undefined }),
    });
    let direct = 0;
    await fc.assert(
      fc.asyncProperty(read, async ({ prefix, id, query, authorization, ifNoneMatch, origin }) => {
        const headers: Record<string, string> = {};
        if (authorization !== undefined) headers.Authorization = authorization;
        if (ifNoneMatch !== undefined) headers['If-None-Match'] = ifNoneMatch;
        if (origin !== undefined) headers.Origin = origin;
        if (!(await compare('GET', `${prefix}${id}${query}`, headers))) direct += 1;
      }),
      { seed: 20_261_125, numRuns: 150 },
    );
    expect(direct).to.be.greaterThan(75);
  });

  it('with a body sent along a GET, and after a write changed the record', async () => {
    expect(
      await compare(
        'GET',
        '/integrations/facebook',
        { Authorization: `Bearer ${READ}`, 'Content-Type': 'application/json' },
        '{"a":1}',
      ),
    ).to.equal(false);
    const put = await send(
      port.service,
      'PATCH',
      '/integrations/chat_widget',
      { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      '{"description":"changed"}',
    );
    expect(put.status).to.equal(200);
    expect(
      await compare('GET', '/integrations/chat_widget', {
        Authorization: `Bearer ${READ}`,
        'If-None-Match': put.headers.etag!,
      }),
    ).to.equal(false);
    expect(
      await compare('GET', '/integrations/chat_widget', { Authorization: `Bearer ${READ}`, 'If-None-Match': '"1"' }),
    ).to.equal(false);
  });
});

describe('the route table', () => {
  const route = (name: string, paths: string[]): RouteSpec => ({ name: name as RouteName, paths, methods: {} });

  it('refuses, when mounted, a route an earlier pattern shadows (it could never answer)', () => {
    const routes = [
      route('/integrations/:id', underPrefixes('/:id')),
      route('/integrations/stats', underPrefixes('/stats')),
    ];
    expect(() => mountRoutes(express(), routes, { guard: () => () => undefined, jsonBody: [] })).to.throw(
      'route /integrations/stats (/integrations/stats) is shadowed by /integrations/:id, declared before it: ' +
        'declare it first',
    );
    expect(() => assertNoShadowedRoute([...routes].reverse()), 'declared first, it answers').to.not.throw();
  });

  it("holds the service's own table to it: none of its routes is shadowed", async () => {
    const running = await startService();
    try {
      const { routes } = running.container.get<HttpApp>(HTTP_APP);
      expect(() => assertNoShadowedRoute(routes)).to.not.throw();
      expect(routes.map((r) => r.name)).to.include.members(['/integrations/ensure-defaults', '/integrations/:id']);
    } finally {
      await running.stop();
    }
  });
});
