// What a hostile client, a careless deploy and a flaky store do to the running service, and what it answers.
import { gzipSync } from 'node:zlib';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import request from 'supertest';
import { MAX_PIPELINED, ROUTE_NAMES, STUCK_PIPELINE_MS } from '../../src/adapters/http/request-context';
import { InMemoryIntegrationRepository } from '../../src/adapters/persistence/in-memory-integration.repository';
import { CachedIntegrationRepository } from '../../src/adapters/persistence/cached-integration.repository';
import { type FaultyRepository, faultyUnderLayers } from '../support/faulty-repository';
import { rawConnection, rawRequest, wholeAnswers } from '../support/raw-http';
import { waitFor } from '../support/wait';
import { theDefaults } from '../support/integration.mother';
import { sample } from '../support/prometheus';
import { startService, type RunningService } from '../support/service';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

function randomCase(text: string, seed: number): string {
  return [...text].map((c, i) => ((seed >> (i % 16)) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
}

/** A GET of `path` as a raw connection sends it. */
const good = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

describe('hardening', () => {
  let running: RunningService;
  const api = () => request(running.url);

  describe('a service with default settings', () => {
    before(async () => {
      running = await startService();
    });
    after(async () => {
      await running.stop();
    });

    it('labels metrics from a fixed set of route names, whatever 200 paths, cases and methods are sent', async () => {
      const sizeBefore = (await api().get('/metrics')).text.length;
      const rssBefore = process.memoryUsage().rss;
      const methods = ['get', 'put', 'patch', 'delete', 'post', 'options'] as const;
      for (let batch = 0; batch < 2; batch += 1) {
        await Promise.all(
          Array.from({ length: 100 }, (_, n) => {
            const i = batch * 100 + n;
            const path = [
              `/${randomCase('admin/integrations', i)}/x${i}`,
              `/${randomCase('integrations', i)}/`,
              `/nothing-here-${i}`,
              `/${randomCase('metrics', i)}`,
            ][i % 4];
            return api()
              [methods[i % methods.length]](path)
              .send(i % 3 === 0 ? { name: 'x' } : undefined);
          }),
        );
      }
      const text = (await api().get('/metrics')).text;
      const routes = new Set(
        [...text.matchAll(/http_request_duration_seconds_count\{[^}]*route="([^"]*)"/g)].map((m) => m[1]),
      );
      expect(
        [...routes].every((route) => (ROUTE_NAMES as readonly string[]).includes(route) || route === 'unmatched'),
        [...routes].join(' '),
      ).to.equal(true);
      // 200 distinct paths added a handful of series, not hundreds (each series is ~2 KB of text: 400 KB if each had
      // its own).
      expect(text.length - sizeBefore).to.be.below(60_000);
      expect(process.memoryUsage().rss - rssBefore).to.be.below(64 * 1024 * 1024);
    });

    it('answers ids and file names that name Object.prototype members as unknown, never 500', async () => {
      for (const name of [
        'constructor',
        '__proto__',
        'toString',
        'hasOwnProperty',
        'valueOf',
        '__defineGetter__',
        'isPrototypeOf',
      ]) {
        await api().put(`/integrations/${name}`).send({ name: 'n', description: 'd' }).expect(404);
        await api().patch(`/admin/integrations/${name}`).send({ status: true }).expect(404);
        await api().get(`/integrations/${name}`).expect(404);
        await api().get(`/docs/assets/${name}`).expect(404);
      }
    });

    it('answers a malformed percent-encoding in the path 400, not 500', async () => {
      const res = await api()
        .get('/integrations/%ZZ')
        .expect(400)
        .expect('Content-Type', /problem\+json/);
      expect(res.body.detail).to.include('percent-encoding');
      await api().patch('/admin/integrations/%E0%A4%A').send({ status: true }).expect(400);
    });

    it('answers a corrupt gzip, deflate or br body 400, and changes nothing', async () => {
      const before = (await api().get('/integrations/chat_widget')).body;
      for (const encoding of ['gzip', 'deflate', 'br']) {
        await api()
          .patch('/integrations/chat_widget')
          .set('Content-Type', 'application/json')
          .set('Content-Encoding', encoding)
          .send(Buffer.from('this is not compressed at all'))
          .expect(400);
      }
      const truncated = gzipSync(JSON.stringify({ status: false })).subarray(0, 12);
      await api()
        .patch('/integrations/chat_widget')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        .send(truncated)
        .expect(400);
      expect((await api().get('/integrations/chat_widget')).body).to.deep.equal(before);
    });

    it('refuses settings nested 10,000 deep with 422, not 500', async () => {
      const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      const res = await api()
        .patch('/integrations/chat_widget')
        .set('Content-Type', 'application/json')
        .send(`{"settings":${deep}}`)
        .expect(422);
      expect(res.body.errors[0].message).to.equal('must not nest deeper than 8 levels');
    });

    it('refuses a settings key holding NUL with 422 (MongoDB could not store it; no store may)', async () => {
      const res = await api()
        .patch('/integrations/chat_widget')
        .send({ settings: { 'a\u0000b': 1 } })
        .expect(422);
      expect(res.body.errors).to.deep.equal([
        { field: '/settings/a\u0000b', message: 'key must not contain the NUL character' },
      ]);
    });

    it('compares entity tags exactly: "01" is not version 1, junk is 400, an empty If-Match is 400', async () => {
      const { version } = (await api().get('/integrations/chat_widget')).body;
      await api()
        .patch('/integrations/chat_widget')
        .set('If-Match', `"0${version}"`)
        .send({ status: true })
        .expect(412);
      await api()
        .patch('/integrations/chat_widget')
        .set('If-Match', `"${version}"garbage"${version}"`)
        .send({ status: true })
        .expect(400);
      const empty = await api()
        .patch('/integrations/chat_widget')
        .set('If-Match', '')
        .send({ status: true })
        .expect(400);
      expect(empty.body.detail).to.include('If-Match').and.not.include('-1');
      expect((await api().get('/integrations/chat_widget')).body.version).to.equal(version);
    });

    it('refuses a write with If-None-Match: * (the record exists), as RFC 9110 says: 412', async () => {
      const { version } = (await api().get('/integrations/chat_widget')).body;
      await api()
        .put('/integrations/chat_widget')
        .set('If-None-Match', '*')
        .send({ name: 'n', description: 'd' })
        .expect(412);
      await api()
        .patch('/integrations/chat_widget')
        .set('If-None-Match', `"${version}"`)
        .send({ status: true })
        .expect(412);
      expect((await api().get('/integrations/chat_widget')).body.version).to.equal(version);
    });

    it('says Cache-Control: no-store on every response that carries credentials', async () => {
      await api().get('/integrations').expect('Cache-Control', 'no-store');
      await api().get('/admin/integrations/facebook').expect('Cache-Control', 'no-store');
      await api().patch('/integrations/facebook').send({ status: false }).expect('Cache-Control', 'no-store');
      const { etag } = (await api().get('/integrations/facebook')).headers;
      await api()
        .get('/integrations/facebook')
        .set('If-None-Match', etag)
        .expect(304)
        .expect('Cache-Control', 'no-store');
    });

    it('sends the security headers helmet keeps current: OWASP’s set for a JSON API, the full set on the docs page', async () => {
      const res = await api().get('/integrations/facebook').expect(200);
      expect(res.headers).to.include({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
      });
      expect(res.headers['content-security-policy']).to.equal("default-src 'none';frame-ancestors 'none'");
      expect(res.headers['strict-transport-security']).to.match(/^max-age=/);
      expect(res.headers).to.not.have.property('x-powered-by');
      const page = await api().get('/docs/').expect(200);
      expect(page.headers).to.include({ 'x-frame-options': 'SAMEORIGIN', 'x-dns-prefetch-control': 'off' });
      expect(page.headers['content-security-policy']).to.include("default-src 'self'");
    });

    it('answers /readyz from the background ping: 200 probes cost the store no extra ping', async () => {
      const before = sample((await api().get('/metrics')).text, 'store_operations_total', { operation: 'ping' }) ?? 0;
      await Promise.all(Array.from({ length: 200 }, () => api().get('/readyz').expect(200)));
      const after = sample((await api().get('/metrics')).text, 'store_operations_total', { operation: 'ping' }) ?? 0;
      expect(after - before).to.be.at.most(1);
    });
  });

  describe('the read cache', () => {
    it('keeps at most its bound of entries, however many distinct ids are read', async () => {
      const cache = new CachedIntegrationRepository(
        new InMemoryIntegrationRepository(theDefaults().map((i) => i.toRecord())),
        { ttlMs: 60_000, maxEntries: 500 },
      );
      for (let i = 0; i < 5_000; i += 1) await cache.findById(`unknown-${i}`);
      expect(cache.size).to.equal(500);
      expect((await cache.findById('facebook'))!.id).to.equal('facebook');
    });

    it('counts an entry’s age from when its read was sent, on a clock that never goes back', async () => {
      let now = 0;
      let reads = 0;
      let release!: () => void;
      const store = new InMemoryIntegrationRepository(theDefaults().map((i) => i.toRecord()));
      const slow = Object.assign(Object.create(store) as InMemoryIntegrationRepository, {
        findById: async (id: string) => {
          reads += 1;
          await new Promise<void>((resolve) => (release = resolve));
          return store.findById(id);
        },
      });
      const cache = new CachedIntegrationRepository(slow, { ttlMs: 1_000, now: () => now });
      const read = cache.findById('facebook');
      now = 900; // the store took 900 ms to answer
      release();
      await read;
      now = 1_001; // 1,001 ms after the read was sent: the entry is expired, even though it arrived 101 ms ago
      const second = cache.findById('facebook');
      release();
      await second;
      expect(reads).to.equal(2);
    });
  });

  describe('slow and numerous clients', () => {
    afterEach(async () => {
      await running.stop();
    });

    it('answers an unauthenticated request at once and closes its connection instead of reading the trickled body', async () => {
      running = await startService({ ADMIN_TOKENS: ADMIN_TOKEN });
      const { socket, received, closed } = await rawConnection(running.url);
      socket.write(
        'PUT /integrations/facebook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ' +
          'application/json\r\nContent-Length: 100000\r\n\r\n{"name":',
      );
      // Closed by the service with 99,990 bytes of the body still to come: it did not wait for them.
      await closed;
      expect(received())
        .to.match(/^HTTP\/1.1 401/)
        .and.include('Connection: close');
    });

    it('cuts a request whose body does not arrive within requestTimeout with 408', async () => {
      running = await startService(
        { ADMIN_TOKENS: ADMIN_TOKEN },
        { overrides: { limits: { requestTimeoutMs: 300, headersTimeoutMs: 250 } } },
      );
      const { socket, received, closed } = await rawConnection(running.url);
      socket.write(
        `PUT /integrations/facebook HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ` +
          `${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
      );
      const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
      await closed;
      clearInterval(trickle);
      expect(received()).to.match(/^HTTP\/1.1 408/);
    });

    it('answers garbage sent on a kept-alive connection after a good request 400, and logs it, as on a fresh one', async () => {
      running = await startService();
      const { socket, received, closed } = await rawConnection(running.url);
      socket.write(good('/integrations/facebook'));
      await waitFor('the first answer', () => received().includes('"name"'));
      socket.write('NOT HTTP AT ALL\r\n\r\n');
      await closed;
      const answers = received().match(/HTTP\/1\.1 \d{3}/g);
      expect(answers).to.deep.equal(['HTTP/1.1 200', 'HTTP/1.1 400']);
      const logged = running.logs().filter((l) => l.msg === 'request refused by the HTTP parser');
      expect(logged).to.have.length(1);
      expect(logged[0]).to.include({ parserError: 'HPE_INVALID_METHOD' });
      expect(running.logs().find((l) => l.msg === 'request' && l.requestId === logged[0]!.requestId)).to.include({
        status: 400,
        route: 'unmatched',
      });
    });

    it('answers an Expect other than 100-continue 417 with a problem, logs it, and applies no write', async () => {
      running = await startService({ ADMIN_TOKENS: ADMIN_TOKEN });
      // As raw requests: Node's own client sends its headers at once when given an Expect, and supertest then fails.
      const send = (head: string, body?: string) =>
        rawRequest(running.url, `${head}\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}`, body);
      const read = await send('GET /integrations/facebook HTTP/1.1\r\nExpect: teapot');
      expect(read.status).to.equal(417);
      const problem = JSON.parse(read.body) as Record<string, unknown>;
      expect(problem).to.include({ status: 417, detail: 'The only expectation this service meets is 100-continue.' });
      expect(read.text).to.include('X-Request-Id: ').and.include('Content-Security-Policy: ');
      expect(running.logs().find((l) => l.msg === 'request' && l.requestId === problem.requestId)).to.include({
        status: 417,
      });
      const refused = await send('PATCH /integrations/facebook HTTP/1.1\r\nExpect: teapot', '{"description":"no"}');
      expect(refused.status).to.equal(417);
      // 100-continue is met: the client is told to go on and the write is applied.
      const applied = await send(
        'PATCH /integrations/facebook HTTP/1.1\r\nExpect: 100-continue',
        '{"description":"yes"}',
      );
      expect(applied.text).to.match(/^HTTP\/1\.1 100 Continue\r\n/);
      expect(applied.status).to.equal(200);
      const stored = await api()
        .get('/integrations/facebook')
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .expect(200);
      expect(stored.body).to.include({ description: 'yes', version: 2 });
    });

    it('answers a CONNECT (an open-proxy scan) 501 and logs it, and lives through one reset before the answer', async () => {
      running = await startService();
      const { socket, received, closed } = await rawConnection(running.url);
      socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      await closed;
      expect(received()).to.match(/^HTTP\/1\.1 501 Not Implemented\r\n/);
      const [answer] = wholeAnswers(received());
      const logged = running.logs().filter((l) => l.msg === 'CONNECT refused: this service opens no tunnels');
      expect(logged).to.have.length(1);
      expect(logged[0]).to.include({ target: 'example.com:443' });
      expect(JSON.parse(answer!.body)).to.deep.equal({
        type: 'urn:problem-type:integrations-service:not-implemented',
        title: 'Not implemented',
        status: 501,
        detail: 'This service opens no tunnels (CONNECT).',
        instance: 'example.com:443',
        requestId: logged[0]!.requestId,
      });
      expect(received()).to.include('Content-Type: application/problem+json');
      expect(running.logs().find((l) => l.msg === 'request' && l.requestId === logged[0]!.requestId)).to.include({
        status: 501,
        route: 'unmatched',
      });
      // Node hands a CONNECT's socket over without its own error listener: a reset must not end the process.
      for (let i = 0; i < 10; i += 1) {
        const reset = await rawConnection(running.url);
        reset.socket.on('error', () => {});
        reset.socket.write(`CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n${'x'.repeat(100_000)}`);
        reset.socket.resetAndDestroy();
      }
      await delay(200);
      await api().get('/healthz').expect(200);
    });

    // An answer written just before the connection is cut, or queued behind another on a pipelined connection,
    // still goes out whole.
    it(
      'answers requests pipelined in one packet in order, each whole, and a good request followed by garbage in ' +
        'the same packet before cutting the connection',
      async () => {
        running = await startService();
        const pipelined = await rawConnection(running.url);
        pipelined.socket.write(
          good('/integrations/facebook') + good('/integrations/no-such-one') + good('/integrations/chat_widget'),
        );
        await waitFor('three answers', () => wholeAnswers(pipelined.received()).length === 3);
        const answers = wholeAnswers(pipelined.received());
        expect(answers.map((answer) => answer.status)).to.deep.equal([200, 404, 200]);
        expect(JSON.parse(answers[0]!.body)).to.include({ id: 'facebook' });
        expect(JSON.parse(answers[1]!.body)).to.include({ status: 404 });
        expect(JSON.parse(answers[2]!.body)).to.include({ id: 'chat_widget' });
        pipelined.socket.destroy();

        const cut = await rawConnection(running.url);
        cut.socket.write(`${good('/integrations/facebook')}NOT HTTP AT ALL\r\n\r\n`);
        await cut.closed;
        const received = wholeAnswers(cut.received());
        expect(received.map((answer) => answer.status)).to.deep.equal([200]);
        expect(JSON.parse(received[0]!.body)).to.include({ id: 'facebook' });

        // Two reads and a write, then garbage: both reads answered whole; the write, cut before it was answered, is not
        // applied.
        const write =
          `PATCH /integrations/facebook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ` +
          `application/json\r\nContent-Length: 17\r\n\r\n{"status": true} `;
        const mixed = await rawConnection(running.url);
        mixed.socket.write(
          `${good('/integrations/facebook')}${good('/integrations/chat_widget')}${write}NOT HTTP AT ALL\r\n\r\n`,
        );
        await mixed.closed;
        const answered = wholeAnswers(mixed.received());
        expect(answered.slice(0, 2).map((answer) => JSON.parse(answer.body).id)).to.deep.equal([
          'facebook',
          'chat_widget',
        ]);
        expect(answered.slice(2).map((answer) => answer.status)).to.deep.equal([400]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect((await request(running.url).get('/integrations/facebook').expect(200)).body).to.include({
          version: 1,
          status: false,
        });
      },
    );

    // HTTP/1.1 lets a client send many requests before reading any answer; one that reads them is never cut for
    // how deep it pipelines, however many land in one packet.
    it('answers all of 300 reads pipelined in one packet to a client that reads them, in order', async () => {
      running = await startService();
      const ids = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? 'facebook' : 'chat_widget'));
      const reader = await rawConnection(running.url);
      reader.socket.write(ids.map((id) => good(`/integrations/${id}`)).join(''));
      await waitFor('300 answers', () => wholeAnswers(reader.received()).length === 300);
      const answers = wholeAnswers(reader.received());
      expect(answers.every((answer) => answer.status === 200)).to.equal(true);
      expect(answers.map((answer) => (JSON.parse(answer.body) as { id: string }).id)).to.deep.equal(ids);
      expect(reader.socket.destroyed, 'the connection is still open').to.equal(false);
      reader.socket.destroy();
    });

    // Node stops reading a connection whose answers are not taken, but keeps the answers already queued for as long
    // as it stays open: a client that never reads would hold them for ever.
    it('cuts a connection whose client stopped reading once its answers fill the network, after a grace', async function () {
      this.timeout(STUCK_PIPELINE_MS + 15_000);
      running = await startService();
      const stuck = await rawConnection(running.url);
      stuck.socket.pause(); // reads nothing: twenty thousand answers of about a kilobyte fill every buffer between
      stuck.socket.write(good('/integrations/facebook').repeat(20_000));
      await new Promise((resolve) => setTimeout(resolve, STUCK_PIPELINE_MS + 2_000));
      // Now read: what was sent before the cut arrives, then the end; a connection not cut would answer all and stay.
      stuck.socket.resume();
      const closedWithin = await Promise.race([
        stuck.closed.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
      ]);
      expect(closedWithin, 'the connection was cut').to.equal(true);
      expect(wholeAnswers(stuck.received()).length).to.be.below(20_000);
      await api().get('/healthz').expect(200);
    });

    it('waits, without cutting, for 40 pipelined reads a stalled store holds past the grace', async function () {
      this.timeout(STUCK_PIPELINE_MS + 15_000);
      let store: FaultyRepository | undefined;
      running = await startService(
        { STORE_TIMEOUT_MS: String(STUCK_PIPELINE_MS + 5_000), CACHE_TTL_MS: '0' },
        {
          overrides: {
            underLayers: faultyUnderLayers((made) => (store = made)),
          },
        },
      );
      store!.behaviour = 'stall';
      const reader = await rawConnection(running.url);
      reader.socket.write(good('/integrations/facebook').repeat(40));
      await new Promise((resolve) => setTimeout(resolve, STUCK_PIPELINE_MS + 1_500));
      expect(reader.socket.destroyed, 'still open while the store stalls').to.equal(false);
      store!.recover();
      await waitFor('40 answers', () => wholeAnswers(reader.received()).length === 40);
      expect(wholeAnswers(reader.received()).every((answer) => answer.status === 200)).to.equal(true);
      reader.socket.destroy();
    });

    // An answer built before its turn holds its header block and body while it waits behind the others: a client
    // pipelining deep gets at most MAX_PIPELINED of its requests worked on at once, the next as one is over.
    it("works on at most 32 of a connection's pipelined reads at once, and answers all 40 in order", async () => {
      let store: FaultyRepository | undefined;
      running = await startService(
        { CACHE_TTL_MS: '0' },
        {
          overrides: {
            underLayers: faultyUnderLayers((made) => (store = made)),
          },
        },
      );
      store!.behaviour = 'stall';
      const before = store!.calls;
      // Forty ids the store has no record of: forty reads of the store (reads of one id at once would share one).
      const ids = Array.from({ length: 40 }, (_, i) => `no-such-${i}`);
      const reader = await rawConnection(running.url);
      reader.socket.write(ids.map((id) => good(`/integrations/${id}`)).join(''));
      await waitFor('32 reads at the store', () => store!.calls - before === MAX_PIPELINED);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(store!.calls - before, 'reads begun while 32 are not over').to.equal(MAX_PIPELINED);
      store!.recover();
      await waitFor('40 answers', () => wholeAnswers(reader.received()).length === 40);
      const answers = wholeAnswers(reader.received());
      expect(answers.map((answer) => answer.status)).to.deep.equal(ids.map(() => 404));
      expect(answers.map((answer) => /no-such-\d+/.exec(answer.body)?.[0])).to.deep.equal(ids);
      expect(store!.calls - before).to.equal(40);
      // The eight that waited were over only after the stall: their log lines count the wait.
      const lines = running.logs().filter((line) => line.msg === 'request' && String(line.path).includes('no-such-'));
      const waited = lines.filter((line) => /no-such-(3[2-9])$/.test(String(line.path)));
      expect(waited).to.have.length(8);
      for (const line of waited) expect(line.durationMs as number).to.be.at.least(200);
      reader.socket.destroy();
    });

    it('closes connections beyond the cap at once, counts each and says so in one line', async () => {
      running = await startService({}, { overrides: { limits: { maxConnections: 3 } } });
      const dropped = async (): Promise<number | undefined> =>
        sample((await api().get('/metrics').expect(200)).text, 'http_connections_dropped_total', { port: 'api' });
      expect(await dropped()).to.equal(0);
      const held = await Promise.all([1, 2, 3].map(() => rawConnection(running.url)));
      const extras = await Promise.all([1, 2, 3, 4].map(() => rawConnection(running.url)));
      // Closed by the service, though the client sent nothing and holds it open.
      for (const extra of extras) {
        await extra.closed;
        expect(extra.received()).to.equal('');
      }
      for (const { socket, closed } of held) {
        socket.destroy();
        await closed;
      }
      // Once the service has seen the held connections close, /metrics gets a connection again.
      const count = await waitFor('a connection for /metrics', () => dropped().catch(() => undefined));
      // Each of the four (and any /metrics request that came while the service still counted the held ones).
      expect(count).to.be.at.least(4);
      const warned = running
        .logs()
        .filter((l) => l.level === 'warn' && String(l.msg).startsWith('connections refused'));
      expect(warned).to.have.length(1);
      expect(warned[0]).to.include({ port: 'api', maxConnections: 3, refused: 1 });
    });
  });

  describe('a store that fails, stalls and recovers', () => {
    let store: FaultyRepository;

    beforeEach(async () => {
      // No read cache (CACHE_TTL_MS=0): every read goes to the store, and meets its faults.
      running = await startService(
        { STORE_TIMEOUT_MS: '150', ADMIN_TOKENS: ADMIN_TOKEN, CACHE_TTL_MS: '0' },
        {
          overrides: {
            underLayers: faultyUnderLayers((made) => (store = made)),
            circuitHalfOpenAfterMs: 300,
          },
        },
      );
    });
    afterEach(async () => {
      store.recover();
      await running.stop();
    });

    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

    it(
      'answers a record it served recently from that copy, saying so; fails fast once the store is known down; ' +
        'recovers',
      async () => {
        const served = (await api().get('/integrations/facebook').set(auth).expect(200)).body;
        store.behaviour = 'stall';

        // The store stalls: each read waits out STORE_TIMEOUT_MS, then is answered from the copy.
        const stale = await api().get('/integrations/facebook').set(auth).expect(200);
        expect(stale.body).to.deep.equal(served);
        expect(stale.headers.warning).to.match(/^110 /);
        expect(Number(stale.headers.age)).to.be.at.least(0);
        for (let i = 0; i < 5; i += 1) await api().get('/integrations/facebook').set(auth).expect(200);

        // Five consecutive failures opened the circuit: what has no copy gets its 503 without the store being asked.
        const callsBefore = store.calls;
        const countedBefore = sample((await api().get('/metrics')).text, 'store_operations_total', {
          operation: 'findById',
        });
        const never = await api().get('/integrations/chat_widget').set(auth).expect(503);
        expect(store.calls).to.equal(callsBefore);
        // Nor is the refused read counted as sent to the store.
        expect(
          sample((await api().get('/metrics')).text, 'store_operations_total', { operation: 'findById' }),
        ).to.equal(countedBefore);
        expect(never.headers['retry-after']).to.equal('1');
        // Writes never pretend.
        await api()
          .patch('/integrations/facebook')
          .set(auth)
          .send({ status: true })
          .expect(503)
          .expect('Retry-After', '1');

        const metrics = (await api().get('/metrics')).text;
        expect(sample(metrics, 'store_circuit_state')).to.equal(1);
        expect(sample(metrics, 'integrations_stale_reads_total')).to.be.at.least(6);
        expect(running.logs().some((l) => l.msg === 'store circuit open')).to.equal(true);

        // The store answers again: after the open period a probe goes through and closes the circuit.
        store.recover();
        // Until the half-open period is over each read is refused at once; the first one after it probes the store.
        const fresh = await waitFor('a read after the circuit lets a probe through', async () => {
          const res = await api().get('/integrations/chat_widget').set(auth);
          return res.status === 200 && res;
        });
        expect(fresh.headers).to.not.have.property('warning');
        expect(sample((await api().get('/metrics')).text, 'store_circuit_state')).to.equal(0);
        expect(running.logs().some((l) => l.msg === 'store circuit closed')).to.equal(true);
      },
    );

    it('never answers a copy older than a write this replica acknowledged', async () => {
      await api().get('/integrations/facebook').set(auth).expect(200);
      const written = (await api().patch('/integrations/facebook').set(auth).send({ status: true }).expect(200)).body;
      store.behaviour = 'fail';
      const stale = await api().get('/integrations/facebook').set(auth).expect(200);
      expect(stale.body).to.deep.equal(written);
    });

    it('stays ready through a store blip shorter than an election, since /readyz answers from the last ping', async () => {
      store.behaviour = 'fail';
      const res = await api().get('/readyz').expect(200);
      expect(res.body.status).to.equal('ready');
    });
  });

  describe('the audit log', () => {
    before(async () => {
      running = await startService({ ADMIN_TOKENS: ADMIN_TOKEN });
    });
    after(async () => {
      await running.stop();
    });

    it(
      'writes one line per acknowledged write: id, versions, changed field names, who and from where, both request ' +
        'ids, and no value',
      async () => {
        const credentials = { verify: 'v-123', secret: 'the-app-secret', page_access_token: 'EAAB-the-page-token' };
        await request(running.url)
          .put('/integrations/facebook')
          .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
          .set('X-Request-Id', 'audit-test-1')
          .send({
            name: 'Facebook Messenger',
            description: 'Connect with Facebook Messenger',
            status: true,
            settings: credentials,
          })
          .expect(200);
        await request(running.url)
          .patch('/integrations/facebook')
          .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
          .send({})
          .expect(200); // no change, no audit
        const audits = running.logs().filter((l) => l.msg === 'audit' && l.versionBefore !== 0);
        expect(audits).to.have.length(1);
        expect(audits[0]).to.deep.include({
          integration: 'facebook',
          versionBefore: 1,
          versionAfter: 2,
          changed: ['status', 'settings'],
          clientRequestId: 'audit-test-1',
          clientAddress: '127.0.0.1',
        });
        expect(audits[0]!.actor)
          .to.match(/^admin:[0-9a-f]{8}$/)
          .and.equal(audits[0]!.tokenLabel);
        // The server's own request id, never the client's: it names this request's lines alone.
        expect(audits[0]!.requestId).to.be.a('string').and.not.equal('audit-test-1');
        const all = running.rawLogs();
        for (const value of [ADMIN_TOKEN, credentials.secret, credentials.page_access_token])
          expect(all).to.not.include(value);
      },
    );

    it('audits the records the seed creates, at start and on demand, and nothing for those that existed', async () => {
      const atStart = running.logs().filter((l) => l.msg === 'audit' && l.versionBefore === 0);
      expect(atStart.map((l) => [l.integration, l.actor])).to.deep.equal([
        ['facebook', 'integrations-service (defaults at start)'],
        ['chat_widget', 'integrations-service (defaults at start)'],
      ]);
      await request(running.url)
        .post('/integrations/ensure-defaults')
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .send({})
        .expect(200, { created: [], existing: ['facebook', 'chat_widget'] });
      expect(running.logs().filter((l) => l.msg === 'audit' && l.versionBefore === 0)).to.have.length(2);
    });
  });
});
