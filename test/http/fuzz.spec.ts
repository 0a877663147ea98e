// Property-based fuzzing of the HTTP API with fast-check (seeded, so a failure replays): whatever method,
// prefix, id, headers and body a client sends, the service answers below 500, stays up, and a write it
// refuses leaves every stored record byte-for-byte as it was.
import { request as httpRequest } from 'node:http';
import { expect } from 'chai';
import fc from 'fast-check';
import { INTEGRATION_REPOSITORY, type IntegrationRepository } from '../../src/application/integration-repository.port';
import { startService, type RunningService } from '../support/service';

const SEED = 20_261_125;
// FUZZ_RUNS=20000 for a longer run; the default keeps npm test quick.
const RUNS = Number(process.env.FUZZ_RUNS ?? 500);

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function send(base: string, { method, path, headers, body }: Sent): Promise<{ status: number; text: string }> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: Number(port),
        method,
        path,
        headers: { ...headers, ...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const prototypeNames = Object.getOwnPropertyNames(Object.prototype);

const id = fc.oneof(
  fc.constantFrom(
    ...prototypeNames,
    'facebook',
    'chat_widget',
    'FACEBOOK',
    'ensure-defaults',
    '',
    '%ZZ',
    '%00',
    '..%2f..',
    'a%2Fb',
    '%E0%A4%A',
  ),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);

const path = fc
  .tuple(
    fc.constantFrom(
      '/integrations',
      '/admin/integrations',
      '/INTEGRATIONS',
      '/Admin/Integrations',
      '/docs/assets',
      '/integrations/',
    ),
    id,
    fc.constantFrom('', '/', '?x=1', '/extra'),
  )
  .map(([prefix, key, tail]) => `${prefix}/${key}${tail}`.replace(/\/\/+/g, '/'));

const jsonish = fc.oneof(
  fc.constantFrom(...prototypeNames),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('$where', 'a.b', 'a\u0000b', 'verify', 'secret'),
);

const body = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 40 }),
  fc
    .record(
      {
        id: fc.oneof(fc.constantFrom('facebook', 'chat_widget', '__proto__'), fc.jsonValue({ maxDepth: 1 })),
        name: fc.oneof(fc.string({ maxLength: 120 }), fc.jsonValue({ maxDepth: 1 })),
        description: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)),
        status: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
        settings: fc.oneof(
          fc.dictionary(jsonish, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        version: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc.constant('{"settings":{"__proto__":{"polluted":true}}}'),
  fc.constant(`{"settings":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`),
);

const headers = fc.record(
  {
    'Content-Type': fc.constantFrom(
      'application/json',
      'application/merge-patch+json',
      'text/plain',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
    ),
    'If-Match': fc.constantFrom('*', '"1"', 'W/"1"', '"01"', '"1"garbage"2"', ',', '"', '"2", "1"'),
    'If-None-Match': fc.constantFrom('*', '"1"', 'W/"2"', 'junk'),
    'Content-Encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown'),
    Authorization: fc.constantFrom('Bearer', 'Bearer x', 'Basic Zm9vOmJhcg=='),
    'X-Request-Id': fc.oneof(
      fc.string({ maxLength: 10 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
      fc.constant('a'.repeat(300)),
    ),
  },
  { requiredKeys: [] },
);

const requestArbitrary = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS'),
  path,
  headers,
  body,
});

describe('fuzzing the HTTP API (fast-check)', function () {
  this.timeout(120_000);
  let running: RunningService;
  let repository: IntegrationRepository;

  before(async () => {
    running = await startService({ LOG_LEVEL: 'warn' });
    repository = running.container.get<IntegrationRepository>(INTEGRATION_REPOSITORY);
  });

  after(async () => {
    await running.stop();
  });

  it(`answers ${RUNS} generated requests below 500, stays up, and changes nothing it refused (seed ${SEED})`, async () => {
    const stored = async (): Promise<string> => JSON.stringify((await repository.list()).map((i) => i.toPrimitives()));
    await fc.assert(
      fc.asyncProperty(requestArbitrary, async ({ method, path: target, headers: sentHeaders, body: sentBody }) => {
        const before = await stored();
        const withBody = method !== 'GET' && method !== 'HEAD';
        const { status, text } = await send(running.url, {
          method,
          path: target,
          headers: sentHeaders,
          body: withBody ? sentBody : undefined,
        });
        expect(
          status,
          `${method} ${target} ${JSON.stringify(sentHeaders)} -> ${status} ${text.slice(0, 200)}`,
        ).to.be.below(500);
        if (status >= 400)
          expect(await stored(), `${method} ${target} was refused (${status}) but changed the store`).to.equal(before);
        expect(text).to.not.match(/at .*\.(ts|js):\d+/); // never a stack trace
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    await send(running.url, { method: 'GET', path: '/healthz', headers: {} }).then(({ status }) =>
      expect(status).to.equal(200),
    );
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(running.logs().filter((l) => l.level === 'error')).to.deep.equal([]);
  });
});
