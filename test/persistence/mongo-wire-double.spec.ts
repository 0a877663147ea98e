// The real driver and the service against a wire-protocol test double (test/support/wire-double: scripted
// replies, not MongoDB): what the service sends (majority write and read concerns, the lease's $$NOW), how it
// takes what comes back (a write concern that timed out, a server too old, refused credentials, a server that
// keeps failing, one without `hello`). What only a server can show is in mongo-service.spec.ts.
import { expect } from 'chai';
import { MongoClient, type Document } from 'mongodb';
import request from 'supertest';
import { permanentFault } from '../../src/adapters/persistence/mongo/mongo-errors';
import { MIGRATIONS, MigrationLeaseHeld, applyPendingMigrations, serverKind } from '../../src/adapters/persistence/mongo/mongo-migrations';
import { writeConcernTimeoutMs } from '../../src/adapters/persistence/mongo/mongo-store';
import { StartupRefusal } from '../../src/infrastructure/service';
import { startService, type RunningService } from '../support/service';
import { waitFor } from '../support/wait';
import { cursorReply, helloReply, startWireDouble, type Script, type WireDouble } from '../support/wire-double';

const isHello = (command: string): boolean => ['hello', 'isMaster', 'ismaster'].includes(command);

/**
 * A MongoDB 7.0 standalone as far as the service's start and a PATCH need one: its migrations applied, the unique
 * index there, the two default records stored; `update` answered by `onUpdate`.
 */
function scriptedStandalone(onUpdate: (document: Document) => Document): Script {
  const facebook = { _id: 1, id: 'facebook', name: 'Facebook Messenger', description: 'd', status: false, settings: { verify: 'v', secret: '', page_access_token: '' }, version: 1, createdAt: new Date(0), updatedAt: new Date(0) };
  const records = [facebook, { ...facebook, _id: 2, id: 'chat_widget', settings: {} }];
  return (command, document) => {
    if (isHello(command)) return helloReply(21);
    if (command === 'listIndexes') return cursorReply('db.integrations', [{ v: 2, key: { _id: 1 }, name: '_id_' }, { v: 2, key: { id: 1 }, name: 'integrations_id_unique', unique: true }]);
    if (command === 'find' && document.find === 'schema_migrations') return cursorReply('db.schema_migrations', MIGRATIONS.map((m) => ({ _id: m.name })));
    if (command === 'find') {
      const id = (document.filter as { id?: { $eq?: string } }).id?.$eq;
      return cursorReply('db.integrations', records.filter((record) => id === undefined || record.id === id));
    }
    if (command === 'update') return onUpdate(document);
    return { ok: 1 };
  };
}

describe('MongoDB through a wire-protocol double (not MongoDB)', function () {
  this.timeout(20_000);
  let double: WireDouble;
  let running: RunningService | undefined;

  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await double.close();
  });

  describe('what the service sends', () => {
    const ADMIN = 'wire-admin-token-0123456789';
    const start = async (onUpdate: (document: Document) => Document) => {
      double = await startWireDouble(scriptedStandalone(onUpdate));
      running = await startService({ MONGODB_URI: double.uri, MIGRATE_ON_START: 'false', ADMIN_TOKENS: ADMIN, STORE_TIMEOUT_MS: '3000' });
    };
    const patch = () => request(running!.url).patch('/integrations/facebook').set('Authorization', `Bearer ${ADMIN}`).send({ status: true });

    it('writes with w: majority and a wtimeout below STORE_TIMEOUT_MS, reads with read concern majority from the primary', async () => {
      await start((document) => ({ ok: 1, n: (document.updates as { upsert?: boolean }[])[0]!.upsert ? 0 : 1, nModified: 1 }));
      await patch().expect(200);
      const write = double.documents.find((d) => d.update === 'integrations' && !(d.updates as { upsert?: boolean }[])[0]!.upsert)!;
      expect(write.writeConcern).to.deep.equal({ w: 'majority', wtimeout: writeConcernTimeoutMs(3_000) });
      expect(writeConcernTimeoutMs(3_000)).to.be.below(3_000);
      const reads = double.documents.filter((d) => d.find === 'integrations');
      expect(reads.length).to.be.at.least(2);
      for (const read of reads) {
        expect(read.readConcern).to.deep.equal({ level: 'majority' });
        // The driver sends no read preference for the primary (its default); any other would be named here.
        expect(read.$readPreference?.mode ?? 'primary').to.equal('primary');
      }
    });

    it('answers a write whose majority did not acknowledge in time (WriteConcernFailed, wtimeout) 503 with Retry-After, not 500', async () => {
      await start((document) =>
        (document.updates as { upsert?: boolean }[])[0]!.upsert
          ? { ok: 1, n: 0, nModified: 0 }
          : { ok: 1, n: 1, nModified: 1, writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out', errInfo: { wtimeout: true } } },
      );
      const res = await patch().expect(503).expect('Retry-After', '1');
      expect(res.body.detail).to.include('may still have been applied');
      const line = running!.logs().find((l) => l.msg === 'store unavailable' && l.requestId === res.headers['x-request-id']);
      expect(line).to.have.nested.property('err.cause').that.includes('MongoWriteConcernError');
    });
  });

  describe('the migrations lease', () => {
    let client: MongoClient;
    afterEach(async () => client.close());

    it("takes the lease in one upsert decided on the server's clock ($$NOW), and reports a holder with the time its lease has left", async () => {
      double = await startWireDouble((command, document) => {
        if (isHello(command)) return helloReply(21);
        if (command === 'findAndModify') {
          const checkedAt = new Date('2026-01-01T00:00:00Z');
          return { ok: 1, value: { _id: '__lease__', owner: 'another-runner', expiresAt: new Date(checkedAt.getTime() + 42_000), checkedAt }, lastErrorObject: { n: 1, updatedExisting: true } };
        }
        return document.find ? cursorReply('db.schema_migrations', []) : { ok: 1 };
      });
      client = await new MongoClient(double.uri, { serverSelectionTimeoutMS: 2_000 }).connect();
      const error = await applyPendingMigrations(client.db('db'), { maxTimeMS: 1_000 }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(MigrationLeaseHeld).with.property('remainingMs', 42_000);
      expect((error as MigrationLeaseHeld).holder).to.equal('another-runner');
      const take = double.documents.find((d) => d.findAndModify === 'schema_migrations')!;
      expect(take.query).to.deep.equal({ _id: '__lease__' });
      expect(take.upsert).to.equal(true);
      expect(JSON.stringify(take.update)).to.include('"$$NOW"').and.include('"$expiresAt"');
      expect(take.writeConcern).to.deep.include({ w: 'majority' });
      expect(JSON.stringify(take.update)).to.not.include(String(new Date().getFullYear())); // no date from this machine's clock
    });

    it('renews the lease (owner checked) before recording a migration, and releases it when done', async () => {
      let owner: string | undefined;
      double = await startWireDouble((command, document) => {
        if (isHello(command)) return helloReply(21);
        if (command === 'findAndModify') {
          owner = JSON.stringify(document.update).match(/"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"/)?.[1];
          return { ok: 1, value: { _id: '__lease__', owner, expiresAt: new Date(Date.now() + 60_000), checkedAt: new Date() } };
        }
        if (command === 'find') return cursorReply('db.schema_migrations', MIGRATIONS.slice(1).map((m) => ({ _id: m.name })));
        if (command === 'update') return { ok: 1, n: 1, nModified: 1 };
        if (command === 'delete') return { ok: 1, n: 1 };
        if (command === 'insert') return { ok: 1, n: 1 };
        return { ok: 1 };
      });
      client = await new MongoClient(double.uri, { serverSelectionTimeoutMS: 2_000 }).connect();
      expect(await applyPendingMigrations(client.db('db'), { maxTimeMS: 1_000 })).to.deep.equal([MIGRATIONS[0]!.name]);
      expect(owner).to.match(/^[0-9a-f-]{36}$/);
      const sent = double.documents.filter((d) => d.update === 'schema_migrations' || d.insert === 'schema_migrations' || d.delete === 'schema_migrations');
      const renew = sent.find((d) => d.update === 'schema_migrations')!;
      expect((renew.updates as { q: Document }[])[0]!.q).to.deep.equal({ _id: '__lease__', owner });
      expect(sent.map((d) => Object.keys(d)[0])).to.deep.equal(['update', 'insert', 'delete']);
      expect((sent[2]!.deletes as { q: Document }[])[0]!.q).to.deep.equal({ _id: '__lease__', owner });
    });
  });

  it('asks isMaster where the server has no hello (MongoDB 4.4.0 and 4.4.1)', async () => {
    double = await startWireDouble((command) => {
      if (command === 'hello') return { ok: 0, code: 59, codeName: 'CommandNotFound', errmsg: 'no such command: hello' };
      if (isHello(command)) return { ...helloReply(9, { helloOk: false }), setName: 'rs0', hosts: [] };
      return { ok: 1 };
    });
    const client = await new MongoClient(double.uri, { serverSelectionTimeoutMS: 2_000 }).connect();
    try {
      expect(await serverKind(client.db('db'))).to.equal('replica set');
      expect(double.received).to.include('hello').and.include('isMaster');
    } finally {
      await client.close();
    }
  });

  it('refuses MongoDB 4.2 (the chatbot’s mongo:4.2.20) at once, with one line naming the version and the minimum', async () => {
    double = await startWireDouble((command) => (isHello(command) ? helloReply(8) : { ok: 0, errmsg: 'not scripted' }));
    running = await startService({ MONGODB_URI: double.uri, STORE_TIMEOUT_MS: '500' }, { waitUntilReady: false });
    const error = await running.service.whenInitialized().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StartupRefusal);
    expect((error as Error).message).to.match(/^MongoDB at 127\.0\.0\.1:\d+ is version 4\.2 \(wire version 8\); this service needs MongoDB 4\.4 or later/);
    const ready = await request(running.url).get('/readyz').expect(503);
    expect(ready.body.checks).to.include({ store: 'refused' });
    expect(ready.body.checks.reason).to.include('4.2');
  });

  it('refuses credentials MongoDB rejects, saying so, and never echoes the password', async () => {
    double = await startWireDouble((command) => {
      if (isHello(command)) return helloReply(21);
      if (command === 'saslStart' || command === 'authenticate') return { ok: 0, code: 18, codeName: 'AuthenticationFailed', errmsg: 'Authentication failed.' };
      return { ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'command requires authentication' };
    });
    const uri = double.uri.replace('mongodb://', 'mongodb://svc:wrong-password-123@').replace('?', '?authMechanism=SCRAM-SHA-256&');
    running = await startService({ MONGODB_URI: uri, STORE_TIMEOUT_MS: '500' }, { waitUntilReady: false });
    const error = await running.service.whenInitialized().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StartupRefusal);
    expect((error as Error).message).to.include('AuthenticationFailed');
    expect(running.rawLogs()).to.not.include('wrong-password-123');
  });

  it('retries a server that answers but keeps failing (shutting down), reporting it not ready, never refused', async () => {
    double = await startWireDouble((command) => (isHello(command) ? helloReply(21) : { ok: 0, code: 91, codeName: 'ShutdownInProgress', errmsg: 'shutdown in progress' }));
    running = await startService({ MONGODB_URI: double.uri, STORE_TIMEOUT_MS: '300' }, { waitUntilReady: false });
    await waitFor('two retries of the start-up', () => running!.logs().filter((l) => l.msg === 'store not ready; retrying').length >= 2);
    expect(running.logs().some((l) => l.msg === 'refusing to start')).to.equal(false);
    const ready = await request(running.url).get('/readyz').expect(503);
    expect(ready.body.checks).to.include({ store: 'connecting' });
    expect(double.received.filter((c) => !isHello(c)).length).to.be.at.least(2);
  });

  it('classifies the driver’s own errors: a too-old server and refused credentials are permanent, a network fault is not', async () => {
    double = await startWireDouble((command) => (isHello(command) ? helloReply(8) : undefined));
    const client = new MongoClient(double.uri, { serverSelectionTimeoutMS: 200 });
    const tooOld = await client.connect().catch((e: unknown) => e);
    await client.close();
    expect(permanentFault(tooOld)).to.match(/version 4\.2/);

    double.setScript(() => undefined); // closes every connection: a network fault
    const flaky = new MongoClient(double.uri, { serverSelectionTimeoutMS: 150 });
    const network = await flaky.connect().catch((e: unknown) => e);
    await flaky.close();
    expect(network).to.be.instanceOf(Error);
    expect(permanentFault(network)).to.equal(null);
  });
});

// On a real MongoDB older than 4.4 (the chatbot's mongo:4.2.20), when CI points MONGODB_OLD_URI at one.
describe('start-up against a real MongoDB older than 4.4 (MONGODB_OLD_URI)', function () {
  this.timeout(30_000);
  before(function () {
    if (!process.env.MONGODB_OLD_URI) this.skip();
  });
  it('refuses at once with one line naming the server version and the minimum', async () => {
    const running = await startService({ MONGODB_URI: process.env.MONGODB_OLD_URI, STORE_TIMEOUT_MS: '2000' }, { waitUntilReady: false });
    try {
      const error = await running.service.whenInitialized().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(StartupRefusal);
      expect((error as Error).message).to.match(/is version 4\.[0-2] .*needs MongoDB 4\.4 or later/);
    } finally {
      await running.stop();
    }
  });
});
