// The direct read (src/adapters/http/direct-read.ts) answers the bot runtime's plain GET of one record without
// Express. These tests hold it to answering exactly as the Express app does: the same requests, plain and odd
// (other spellings, HEAD, encoded and reserved ids, bad tokens and tags, browsers' origins, bodies on a GET),
// go to the service and to its own Express app served alone, and status, headers, body and log line must match.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import type { HttpApp } from '../../src/adapters/http/app';
import { HTTP_APP } from '../../src/infrastructure/tokens';
import { startService, type RunningService } from '../support/service';

const READ = 'direct-read-token-0123456789';
const ADMIN = 'direct-admin-token-0123456789';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
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

// Per connection or per moment, not per answer: the date, and the keep-alive the two servers set differently.
const comparable = ({ date: _date, 'keep-alive': _keepAlive, ...headers }: IncomingHttpHeaders): IncomingHttpHeaders => headers;

const PATHS = [
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

  before(async () => {
    running = await startService({ READ_TOKENS: READ, ADMIN_TOKENS: ADMIN, CORS_ORIGINS: 'http://admin.example' });
    const app = running.container.get<HttpApp>(HTTP_APP);
    expressOnly = createServer(app.express);
    await new Promise<void>((resolve) => expressOnly.listen(0, '127.0.0.1', resolve));
    port = { service: Number(new URL(running.url).port), express: (expressOnly.address() as AddressInfo).port };
    // Express calls its app's handle() for every request it is given.
    handledByExpress = sinon.spy(app.express as unknown as { handle: (...args: unknown[]) => void }, 'handle');
  });

  after(async () => {
    sinon.restore();
    await new Promise((resolve) => expressOnly.close(resolve));
    await running.stop();
  });

  /** Sends one request to both; answers and log lines compared; says whether the service used Express. */
  async function compare(method: string, path: string, headers: Record<string, string>, body?: string): Promise<boolean> {
    const requestId = `compare-${handledByExpress.callCount}-${Math.random().toString(36).slice(2)}`;
    const sent = { ...headers, 'X-Request-Id': requestId, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) };
    const before = handledByExpress.callCount;
    const viaService = await send(port.service, method, path, sent, body);
    const serviceUsedExpress = handledByExpress.callCount > before;
    const viaExpress = await send(port.express, method, path, sent, body);
    const what = `${method} ${path} ${JSON.stringify(headers)}`;
    expect(viaService.status, what).to.equal(viaExpress.status);
    expect(comparable(viaService.headers), what).to.deep.equal(comparable(viaExpress.headers));
    expect(viaService.body, what).to.equal(viaExpress.body);
    const lines = running.logs().filter((line) => line.requestId === requestId && line.msg === 'request');
    expect(lines, what).to.have.length(2);
    const [first, second] = lines.map(({ time: _time, durationMs: _duration, ...rest }) => rest);
    expect(first, what).to.deep.equal(second);
    return serviceUsedExpress;
  }

  it('for every path, method, token, entity tag and origin a client may send to a record', async () => {
    let direct = 0;
    for (const path of PATHS) {
      for (const method of ['GET', 'HEAD']) {
        for (const headers of HEADERS) if (!(await compare(method, path, headers))) direct += 1;
      }
    }
    // The plain reads were answered directly (the comparison above is not Express against itself).
    expect(direct).to.be.greaterThan(PATHS.length);
  });

  it('answers the plain read directly, and sends everything else to Express', async () => {
    expect(await compare('GET', '/integrations/facebook', { Authorization: `Bearer ${READ}` })).to.equal(false);
    expect(await compare('GET', '/admin/integrations/chat_widget?x=1', { Authorization: `Bearer ${READ}` })).to.equal(false);
    expect(await compare('GET', '/integrations/no-such-id', { Authorization: `Bearer ${READ}` })).to.equal(false);
    for (const [method, path] of [
      ['HEAD', '/integrations/facebook'],
      ['GET', '/integrations/facebook/'],
      ['GET', '/INTEGRATIONS/facebook'],
      ['GET', '/integrations/%66acebook'],
      ['GET', '/integrations/ensure-defaults'],
      ['GET', '/integrations/ENSURE-DEFAULTS'],
      ['GET', '/integrations'],
      ['PUT', '/integrations/facebook'],
    ]) {
      expect(await compare(method!, path!, { Authorization: `Bearer ${READ}` }), `${method} ${path}`).to.equal(true);
    }
  });

  it('for generated reads: ids, queries, tokens, entity tags and origins (fast-check, seeded)', async () => {
    // Printable ASCII: what an HTTP client can put in a header value at all.
    const text = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength });
    const read = fc.record({
      prefix: fc.constantFrom('/integrations/', '/admin/integrations/'),
      id: fc.oneof(fc.constantFrom('facebook', 'chat_widget', 'ensure-defaults', 'toString', '__proto__'), fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/)),
      query: fc.constantFrom('', '?', '?a=1', '?a=%ZZ&b', '?__proto__[x]=1'),
      authorization: fc.option(fc.oneof(fc.constant(`Bearer ${READ}`), fc.constant(`Bearer ${ADMIN}`), text(40).map((t) => `Bearer ${t}`), text(20)), { nil: undefined }),
      ifNoneMatch: fc.option(fc.oneof(fc.constantFrom('"1"', '"2"', 'W/"1"', '*', '"1", "2"', '"0"'), text(12)), { nil: undefined }),
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
      { seed: 20_261_125, numRuns: 300 },
    );
    expect(direct).to.be.greaterThan(150);
  });

  it('with a body sent along a GET, and after a write changed the record', async () => {
    expect(await compare('GET', '/integrations/facebook', { Authorization: `Bearer ${READ}`, 'Content-Type': 'application/json' }, '{"a":1}')).to.equal(false);
    const put = await send(port.service, 'PATCH', '/integrations/chat_widget', { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, '{"description":"changed"}');
    expect(put.status).to.equal(200);
    expect(await compare('GET', '/integrations/chat_widget', { Authorization: `Bearer ${READ}`, 'If-None-Match': put.headers.etag! })).to.equal(false);
    expect(await compare('GET', '/integrations/chat_widget', { Authorization: `Bearer ${READ}`, 'If-None-Match': '"1"' })).to.equal(false);
  });
});
