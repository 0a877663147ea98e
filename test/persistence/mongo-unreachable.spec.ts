// The MongoDB adapter's failure paths, runnable without a server: a closed port on loopback.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { theDefaults } from '../support/integration.mother';
import {
  MongoClient,
  MongoDriverError,
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError,
  MongoWriteConcernError,
} from 'mongodb';
import request from 'supertest';
import { CredentialCipher } from '../../src/adapters/persistence/credential-cipher';
import { MongoIntegrationRepository } from '../../src/adapters/persistence/mongo/mongo-integration.repository';
import { RecordCodec } from '../../src/adapters/persistence/record-codec';
import { StoreUnavailableError } from '../../src/domain/errors';
import {
  isStoreUnavailable,
  permanentFault,
  translateDriverErrors,
} from '../../src/adapters/persistence/mongo/mongo-errors';
import { startService, type RunningService } from '../support/service';
import { waitFor } from '../support/wait';

const CLOSED_PORT_URI = 'mongodb://127.0.0.1:1/?directConnection=true';

describe('MongoDB unreachable (closed port on 127.0.0.1)', () => {
  describe('MongoIntegrationRepository', () => {
    let client: MongoClient;

    beforeEach(() => {
      client = new MongoClient(CLOSED_PORT_URI, { serverSelectionTimeoutMS: 150 });
    });

    afterEach(async () => {
      await client.close();
    });

    for (const [operation, call] of [
      ['list', (r: MongoIntegrationRepository) => r.list()],
      ['findById', (r: MongoIntegrationRepository) => r.findById('facebook')],
      ['replace', (r: MongoIntegrationRepository) => r.replace(theDefaults()[0]!.change({ status: true }, new Date()))],
      ['ping', (r: MongoIntegrationRepository) => r.ping()],
    ] as const) {
      it(`fails ${operation} with StoreUnavailableError once server selection gives up`, async () => {
        const error = await call(
          new MongoIntegrationRepository(client.db('x'), new RecordCodec(new CredentialCipher(undefined))),
        ).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(StoreUnavailableError);
        expect((error as StoreUnavailableError).cause).to.be.instanceOf(MongoServerSelectionError);
      });
    }
  });

  describe('the service', () => {
    let running: RunningService;

    beforeEach(async () => {
      running = await startService(
        { MONGODB_URI: CLOSED_PORT_URI, STORE_TIMEOUT_MS: '200' },
        { waitUntilReady: false },
      );
    });

    afterEach(async () => {
      await running.stop();
    });

    it('stays up: /healthz 200 while /readyz says 503 and why', async () => {
      await request(running.url).get('/healthz').expect(200);
      const ready = await request(running.url).get('/readyz').expect(503);
      expect(ready.body.status).to.equal('not ready');
    });

    it('answers API reads with 503 problem+json, never hanging, never a stack trace', async () => {
      const res = await request(running.url).get('/integrations/facebook').timeout(5000).expect(503);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.headers['retry-after']).to.equal('1');
      expect(res.body).to.include({ status: 503, title: 'Store unavailable' });
      expect(JSON.stringify(res.body)).to.not.match(/Mongo|at .*\.js|stack/);
    });

    it('answers a write with 503 and keeps retrying the start-up with backoff in the log', async () => {
      await request(running.url)
        .put('/integrations/facebook')
        .send({ name: 'n', description: 'd' })
        .timeout(5000)
        .expect(503);
      const retries = await waitFor('two start-up retries in the log', () => {
        const lines = running.logs().filter((line) => line.msg === 'store not ready; retrying');
        return lines.length >= 2 && lines;
      });
      expect(Number(retries[1]!.retryInMs)).to.be.greaterThan(Number(retries[0]!.retryInMs));
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
    running = await startService(
      { MONGODB_URI: `mongodb://127.0.0.1:${port}/?directConnection=true`, STORE_TIMEOUT_MS: '500' },
      { waitUntilReady: false },
    );
  });

  afterEach(async () => {
    await running.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('answers 503 problem+json when STORE_TIMEOUT_MS has passed, saying so in the log, and /readyz 503', async () => {
    const res = await request(running.url).get('/integrations').timeout(5000).expect(503);
    expect(res.body).to.include({ status: 503 });
    const line = running
      .logs()
      .find((l) => l.msg === 'store unavailable' && l.requestId === res.headers['x-request-id']);
    expect(line)
      .to.have.nested.property('err.message')
      .that.matches(/within 500 ms|did not answer/);
    await request(running.url).get('/readyz').timeout(5000).expect(503);
  });
});

describe('driver errors, each mapped on purpose', () => {
  // The driver does not export these two; they are thrown by its pool, known by name.
  const driverError = (name: string): MongoDriverError =>
    Object.defineProperty(new MongoDriverError(name), 'name', { value: name });

  for (const [label, error, unavailable] of [
    ['the pool was closed (client closing)', driverError('MongoPoolClosedError'), true],
    ['no connection freed within waitQueueTimeoutMS', driverError('MongoWaitQueueTimeoutError'), true],
    ['a network error', new MongoNetworkError('socket hang up'), true],
    ['a node stepping down (NotWritablePrimary)', new MongoServerError({ code: 10107, errmsg: 'not primary' }), true],
    [
      'a majority that did not acknowledge a write in time (WriteConcernFailed, wtimeout)',
      new MongoWriteConcernError({
        ok: 1,
        n: 1,
        writeConcernError: {
          code: 64,
          codeName: 'WriteConcernFailed',
          errmsg: 'waiting for replication timed out',
          errInfo: { wtimeout: true },
        },
      } as never),
      true,
    ],
    [
      'a majority read not possible yet (ReadConcernMajorityNotAvailableYet)',
      new MongoServerError({ code: 134, errmsg: 'not yet' }),
      true,
    ],
    [
      'refused credentials',
      new MongoServerError({ code: 18, codeName: 'AuthenticationFailed', errmsg: 'Authentication failed.' }),
      true,
    ],
    [
      'a duplicate key (a bug, or the seed race the repository handles)',
      new MongoServerError({ code: 11000, errmsg: 'E11000' }),
      false,
    ],
    ['a malformed command (a bug)', new MongoServerError({ code: 2, codeName: 'BadValue', errmsg: 'bad' }), false],
  ] as const) {
    it(`${unavailable ? 'answers 503' : 'stays an error (500, logged)'} for ${label}`, async () => {
      const outcome = await translateDriverErrors('op', () => Promise.reject(error)).catch((e: unknown) => e);
      expect(outcome instanceof StoreUnavailableError).to.equal(unavailable);
      expect(isStoreUnavailable(error)).to.equal(unavailable);
    });
  }

  it('names refused credentials and a conflicting index as permanent, with what to do', () => {
    expect(
      permanentFault(
        new MongoServerError({ code: 18, codeName: 'AuthenticationFailed', errmsg: 'Authentication failed.' }),
      ),
    ).to.include('MONGODB_URI');
    expect(
      permanentFault(
        new MongoServerError({
          code: 85,
          codeName: 'IndexOptionsConflict',
          errmsg: 'Index already exists with a different name: id_1',
        }),
      ),
    ).to.include('drop it');
    expect(permanentFault(new MongoNetworkError('reset'))).to.equal(null);
  });
});
