// The edge: the host names the service answers to (DNS rebinding), values that look sealed, and encryption that
// cannot lock the bot out — a key rotation rolled out over two replicas of one store, and a stored record that
// cannot be opened, answered 503 and named by /readyz, never a bare 500.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { CredentialCipher, keyId, placeOf } from '../../src/adapters/persistence/credential-cipher';
import { resealCredentials } from '../../src/adapters/persistence/credential-resealer';
import {
  InMemoryIntegrationRepository,
  InMemoryRecords,
} from '../../src/adapters/persistence/in-memory-integration.repository';
import { facebookSettings, theDefaults } from '../support/integration.mother';
import { rawRequest } from '../support/raw-http';
import { startService, type RunningService } from '../support/service';

const READ = 'edge-read-token-0123456789';
const ADMIN = 'edge-admin-token-0123456789';
const key = () => randomBytes(32).toString('base64');

describe('the edge', () => {
  const started: RunningService[] = [];
  const start = async (...args: Parameters<typeof startService>): Promise<RunningService> => {
    const running = await startService(...args);
    started.push(running);
    return running;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((running) => running.stop()));
  });

  describe('host names (DNS rebinding)', () => {
    it(
      'answers a page that rebound its name to the open default (127.0.0.1, no tokens) 421, on the read and on a ' +
        'write, and changes nothing',
      async () => {
        const running = await start();
        const { port } = new URL(running.url);
        const rebound = `rebind.attacker.example:${port}`;
        const read = await request(running.url)
          .get('/integrations/facebook')
          .set('Host', rebound)
          .expect(421)
          .expect('Content-Type', /problem\+json/);
        expect(read.body.detail).to.include('rebind.attacker.example').and.include('ALLOWED_HOSTS');
        expect(JSON.stringify(read.body)).to.not.include('secret');
        await request(running.url)
          .put('/integrations/facebook')
          .set('Host', rebound)
          .send({ name: 'pwned', description: '', settings: facebookSettings({ secret: 'attacker' }) })
          .expect(421);
        await request(running.url).get('/integrations').set('Host', rebound).expect(421);
        const stored = await request(running.url)
          .get('/integrations/facebook')
          .set('Host', `localhost:${port}`)
          .expect(200);
        expect(stored.body).to.include({ name: 'Facebook Messenger', version: 1 });
        await request(running.url).get('/integrations/facebook').set('Host', `127.0.0.1:${port}`).expect(200);
      },
    );

    it('refuses the host before the token is looked at, and lets probes and metrics answer any host', async () => {
      const running = await start({ READ_TOKENS: READ });
      await request(running.url).get('/integrations/facebook').set('Host', 'evil.example').expect(421);
      await request(running.url)
        .get('/integrations/facebook')
        .set('Host', 'evil.example')
        .set('Authorization', `Bearer ${READ}`)
        .expect(421);
      for (const p of ['/healthz', '/readyz', '/metrics'])
        await request(running.url).get(p).set('Host', '10.0.0.7:8090').expect(200);
    });

    it('answers the names ALLOWED_HOSTS lists, with or without a port, and the subdomains of a *. entry', async () => {
      const running = await start({ ALLOWED_HOSTS: 'integrations-service,*.svc.cluster.local,admin.example.com:8443' });
      for (const host of [
        'integrations-service',
        'integrations-service:8090',
        'integrations-service.chatbot.svc.cluster.local',
        'admin.example.com:8443',
        'INTEGRATIONS-SERVICE',
      ]) {
        await request(running.url).get('/integrations/facebook').set('Host', host).expect(200);
      }
      for (const host of [
        'svc.cluster.local',
        'admin.example.com',
        'admin.example.com:443',
        'integrations-service.evil.example',
        'localhost',
      ]) {
        await request(running.url).get('/integrations/facebook').set('Host', host).expect(421);
      }
    });

    it('refuses a request with two Host headers (400), whichever is allowed, and changes nothing', async () => {
      const running = await start();
      const { host } = new URL(running.url);
      for (const hosts of [`Host: ${host}\r\nHost: evil.example`, `Host: evil.example\r\nhost: ${host}`]) {
        const read = await rawRequest(running.url, `GET /integrations/facebook HTTP/1.1\r\n${hosts}`);
        expect(read.status).to.equal(400);
        expect(JSON.parse(read.body)).to.include({ status: 400, detail: 'The request has more than one Host header.' });
        const write = await rawRequest(
          running.url,
          `PATCH /integrations/facebook HTTP/1.1\r\n${hosts}`,
          JSON.stringify({ name: 'pwned' }),
        );
        expect(write.status).to.equal(400);
      }
      expect((await request(running.url).get('/integrations/facebook').expect(200)).body).to.include({
        name: 'Facebook Messenger',
        version: 1,
      });
    });

    it('goes by the authority of a target in absolute form, not the Host header (RFC 9112 §3.2.2)', async () => {
      const running = await start();
      const { host } = new URL(running.url);
      const elsewhere = await rawRequest(
        running.url,
        `GET http://rebind.attacker.example/integrations/facebook HTTP/1.1\r\nHost: ${host}`,
      );
      expect(elsewhere.status).to.equal(421);
      expect(JSON.parse(elsewhere.body)).to.have.property('detail').that.includes('"rebind.attacker.example"');
      const write = await rawRequest(
        running.url,
        `PATCH http://rebind.attacker.example/integrations/facebook HTTP/1.1\r\nHost: ${host}`,
        JSON.stringify({ name: 'pwned' }),
      );
      expect(write.status).to.equal(421);
      const here = await rawRequest(
        running.url,
        `GET http://${host}/integrations/facebook?x=1 HTTP/1.1\r\nHost: rebind.attacker.example`,
      );
      expect(here.status).to.equal(200);
      expect(JSON.parse(here.body)).to.include({ name: 'Facebook Messenger', version: 1 });
    });
  });

  describe('values that look sealed', () => {
    for (const encryption of ['off', 'on'] as const) {
      it(
        `refuses a credential starting with enc: (422, the field named) with encryption ${encryption}, and stores ` +
          `nothing`,
        async () => {
          const running = await start(encryption === 'on' ? { ENCRYPTION_KEY: key() } : {});
          const looksSealed = `enc:v2:deadbeef:${'A'.repeat(16)}:${'B'.repeat(22)}:CCCC`;
          const patch = await request(running.url)
            .patch('/integrations/facebook')
            .send({ settings: facebookSettings({ page_access_token: looksSealed }) })
            .expect(422);
          expect(patch.body.errors).to.deep.equal([
            {
              field: '/settings/page_access_token',
              message: 'must not start with "enc:": that prefix marks values this service sealed',
            },
          ]);
          await request(running.url)
            .put('/integrations/chat_widget')
            .send({ name: 'c', description: '', settings: { secret: 'enc:anything' } })
            .expect(422);
          // Everything still reads, and every repair still works.
          await request(running.url).get('/integrations').expect(200);
          await request(running.url).patch('/integrations/facebook').send({ settings: facebookSettings() }).expect(200);
        },
      );
    }
  });

  describe('encryption that cannot lock the bot out', () => {
    /** Two replicas of the service over one store, each with its own keys. */
    async function replica(records: InMemoryRecords, env: NodeJS.ProcessEnv): Promise<RunningService> {
      return start({ READ_TOKENS: READ, ADMIN_TOKENS: ADMIN, ...env }, { overrides: { memorySeed: records } });
    }
    const read = (running: RunningService) =>
      request(running.url).get('/integrations/facebook').set('Authorization', `Bearer ${READ}`);
    const write = (running: RunningService, secret: string) =>
      request(running.url)
        .patch('/integrations/facebook')
        .set('Authorization', `Bearer ${ADMIN}`)
        .send({ settings: facebookSettings({ secret }) })
        .expect(200);

    it(
      'rotates a key with no replica ever failing a read: every replica learns the next key before any replica ' +
        'seals with it',
      async () => {
        const [k1, k2] = [key(), key()];
        const records = new InMemoryRecords(theDefaults().map((integration) => integration.toRecord()));
        let a = await replica(records, { ENCRYPTION_KEY: k1 });
        const b = await replica(records, { ENCRYPTION_KEY: k1 });
        await write(a, 'sealed-with-k1');

        // 1. Roll out the next key, read-only: a new replica beside the old one (a rolling update).
        const a2 = await replica(records, { ENCRYPTION_KEY: k1, ENCRYPTION_KEY_NEXT: k2 });
        for (const r of [a, b, a2]) expect((await read(r).expect(200)).body.settings.secret).to.equal('sealed-with-k1');
        await a.stop();
        await b.stop();
        a = a2;

        // 2. Switch: K2 seals, K1 still opens. While this rollout is under way, the old replicas read what the new ones
        // seal.
        const c = await replica(records, { ENCRYPTION_KEY: k2, ENCRYPTION_KEY_PREVIOUS: k1 });
        await write(c, 'sealed-with-k2');
        for (const r of [a, c]) expect((await read(r).expect(200)).body.settings.secret).to.equal('sealed-with-k2');
        await write(a, 'sealed-with-k1-again');
        for (const r of [a, c])
          expect((await read(r).expect(200)).body.settings.secret).to.equal('sealed-with-k1-again');
        await a.stop();

        // 3. Reseal everything under K2, then 4. drop K1.
        await resealCredentials(
          new InMemoryIntegrationRepository(records),
          new CredentialCipher(Buffer.from(k2, 'base64'), [Buffer.from(k1, 'base64')]),
        );
        const d = await replica(records, { ENCRYPTION_KEY: k2 });
        for (const r of [c, d])
          expect((await read(r).expect(200)).body.settings.secret).to.equal('sealed-with-k1-again');
      },
    );

    it(
      'answers 503 (never a bare 500) where a replica lacks the key a value was sealed with, says why in a log ' +
        'line, and takes itself out (/readyz 503 naming the record)',
      async () => {
        const [k1, k2] = [key(), key()];
        const records = new InMemoryRecords(theDefaults().map((integration) => integration.toRecord()));
        const old = await replica(records, { ENCRYPTION_KEY: k1, STALE_IF_ERROR_MS: '0' });
        const rotatedTooSoon = await replica(records, { ENCRYPTION_KEY: k2, ENCRYPTION_KEY_PREVIOUS: k1 });
        await write(rotatedTooSoon, 'sealed-with-k2');

        const res = await read(old)
          .expect(503)
          .expect('Retry-After', '1')
          .expect('Content-Type', /problem\+json/);
        expect(JSON.stringify(res.body)).to.not.include('enc:v2');
        const line = old
          .logs()
          .find((l) => l.msg === 'store unavailable' && l.requestId === res.headers['x-request-id']);
        expect(line)
          .to.have.nested.property('err.message')
          .that.includes('facebook/secret')
          .and.includes(keyId(Buffer.from(k2, 'base64')));
        const ready = await request(old.url).get('/readyz').expect(503);
        expect(ready.body.checks.records).to.include('facebook/secret');
        // The other records still read, and the list answers them, naming the one left out.
        await request(old.url).get('/integrations/chat_widget').set('Authorization', `Bearer ${READ}`).expect(200);
        const list = await request(old.url)
          .get('/integrations')
          .set('Authorization', `Bearer ${READ}`)
          .expect(200)
          .expect('Unreadable-Integrations', 'facebook');
        expect(list.body.map((integration: { id: string }) => integration.id)).to.deep.equal(['chat_widget']);
      },
    );

    it(
      'answers 503 for a sealed value moved to another record or field, stays ready (every replica fails alike) ' +
        'and says why, and an admin can write it again',
      async () => {
        const k1 = key();
        const records = new InMemoryRecords(theDefaults().map((integration) => integration.toRecord()));
        const running = await replica(records, { ENCRYPTION_KEY: k1, STALE_IF_ERROR_MS: '0' });
        await write(running, 'app-secret');
        const stored = records.records.get('facebook')!;
        // Someone with write access to the database moves the sealed token into the secret's place.
        new InMemoryIntegrationRepository(records).writeBehind({
          ...stored,
          settings: { ...stored.settings, secret: stored.settings!.page_access_token! },
        });
        await read(running).expect(503);
        const ready = await request(running.url).get('/readyz').expect(200);
        expect(ready.body.checks.records).to.include(placeOf('facebook', 'secret')).and.include('altered or moved');
        await write(running, 'written-again');
        expect((await read(running).expect(200)).body.settings.secret).to.equal('written-again');
        expect((await request(running.url).get('/readyz').expect(200)).body.checks).to.not.have.property('records');
      },
    );
  });
});
