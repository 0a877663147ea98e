// The MongoDB adapter's failure paths, runnable without a server: a closed port on loopback.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { theDefaults } from '../support/integration.mother';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { MongoIntegrationRepository } from '../../src/adapters/persistence/mongo-integration.repository';
import { StoreUnavailableError } from '../../src/domain/errors';
import { startService, type RunningService } from '../support/service';

const CLOSED_PORT_URI = 'mongodb://127.0.0.1:1/?directConnection=true';

describe('MongoDB unreachable (closed port on 127.0.0.1)', () => {
  describe('MongoIntegrationRepository', () => {
    let client: MongoClient;

    beforeEach(() => {
      client = new MongoClient(CLOSED_PORT_URI, { serverSelectionTimeoutMS: 300 });
    });

    afterEach(async () => {
      await client.close();
    });

    for (const [operation, call] of [
      ['list', (r: MongoIntegrationRepository) => r.list()],
      ['findById', (r: MongoIntegrationRepository) => r.findById('facebook')],
      ['replace', (r: MongoIntegrationRepository) => r.replace(theDefaults()[0].change({ status: true }, new Date()))],
      ['ping', (r: MongoIntegrationRepository) => r.ping()],
    ] as const) {
      it(`fails ${operation} with StoreUnavailableError within the timeout`, async () => {
        const started = Date.now();
        const error = await call(new MongoIntegrationRepository(client.db('x'))).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(StoreUnavailableError);
        expect(Date.now() - started).to.be.below(2000);
      });
    }
  });

  describe('the service', () => {
    let running: RunningService;

    beforeEach(async () => {
      running = await startService({ MONGODB_URI: CLOSED_PORT_URI, STORE_TIMEOUT_MS: '400' }, { waitUntilReady: false });
    });

    afterEach(async () => {
      await running.stop();
    });

    it('stays up: /healthz 200 while /readyz says 503 and why', async () => {
      await request(running.url).get('/healthz').expect(200);
      const ready = await request(running.url).get('/readyz').expect(503);
      expect(ready.body.status).to.equal('not ready');
    });

    it('answers API reads with 503 problem+json within the store timeout, never hanging', async () => {
      const started = Date.now();
      const res = await request(running.url).get('/integrations/facebook').timeout(5000).expect(503);
      expect(Date.now() - started).to.be.below(2000);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.headers['retry-after']).to.equal('1');
      expect(res.body).to.include({ status: 503, title: 'Store unavailable' });
      expect(JSON.stringify(res.body)).to.not.match(/Mongo|at .*\.js|stack/);
    });

    it('answers a write with 503 and keeps retrying the start-up with backoff in the log', async () => {
      await request(running.url).put('/integrations/facebook').send({ name: 'n', description: 'd' }).timeout(5000).expect(503);
      await new Promise((resolve) => setTimeout(resolve, 900));
      const retries = running.logs().filter((line) => line.msg === 'store not ready; retrying');
      expect(retries.length).to.be.at.least(1);
      expect(retries[0]).to.have.nested.property('err.name', 'StoreUnavailableError');
    });
  });
});

describe('MongoDB that accepts connections but never answers', () => {
  let silent: Server;
  let sockets: Socket[];
  let running: RunningService;

  beforeEach(async () => {
    sockets = [];
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    running = await startService({ MONGODB_URI: `mongodb://127.0.0.1:${port}/?directConnection=true`, STORE_TIMEOUT_MS: '500' }, { waitUntilReady: false });
  });

  afterEach(async () => {
    await running.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('answers 503 problem+json once STORE_TIMEOUT_MS has passed, and /readyz 503 as fast', async () => {
    const started = Date.now();
    const res = await request(running.url).get('/integrations').timeout(5000).expect(503);
    expect(Date.now() - started).to.be.within(400, 2500);
    expect(res.body).to.include({ status: 503 });
    await request(running.url).get('/readyz').timeout(5000).expect(503);
  });
});
