// The real driver and the service against a wire-protocol test double (test/support/wire-double: scripted
// replies, not MongoDB): what the service sends (majority write and read concerns, the lease's $$NOW), how it
// takes what comes back (a write concern that timed out, a server too old, refused credentials, a server that
// keeps failing, one without `hello`). What only a server can show is in mongo-service.spec.ts.
import { expect } from 'chai';
import { BSON, Long, MongoClient, ObjectId, type Document } from 'mongodb';
import request from 'supertest';
import { permanentFault } from '../../src/adapters/persistence/mongo/mongo-errors';
import {
  MIGRATIONS,
  MigrationLeaseHeld,
  applyPendingMigrations,
  serverKind,
} from '../../src/adapters/persistence/mongo/mongo-migrations';
import { writeConcernTimeoutMs } from '../../src/adapters/persistence/mongo/mongo-store';
import { StartupRefusal } from '../../src/infrastructure/service';
import { startService, type RunningService } from '../support/service';
import { waitFor } from '../support/wait';
import {
  cursorReply,
  helloReply,
  liveChangeStream,
  replicaSetPrimaryHello,
  startWireDouble,
  statefulStore,
  type Script,
  type WireDouble,
} from '../support/wire-double';

const isHello = (command: string): boolean => ['hello', 'isMaster', 'ismaster'].includes(command);

/**
 * A MongoDB 7.0 standalone as far as the service's start and a PATCH need one (statefulStore: its migrations
 * applied, the unique index there, the two default records stored); `update` answered by `onUpdate`.
 */
function scriptedStandalone(onUpdate: (document: Document) => Document): Script {
  const { script } = statefulStore(() => helloReply(21));
  return (command, document) => (command === 'update' ? onUpdate(document) : script(command, document));
}

/**
 * A MongoDB 7.0 standalone on which only the migration named `pending` is left to apply, the migrations' lease granted
 * to whoever asks; any other command goes to `rest`, and what it leaves (undefined) is acknowledged.
 */
function onePendingMigration(
  pending: string,
  rest: (command: string, document: Document) => Document | undefined,
): Script {
  return (command, document) => {
    if (isHello(command)) return helloReply(21);
    if (command === 'findAndModify') {
      const owner = JSON.stringify(document.update).match(/"([0-9a-f]{8}-[0-9a-f-]{27})"/)?.[1];
      return {
        ok: 1,
        value: { _id: '__lease__', owner, expiresAt: new Date(Date.now() + 60_000), checkedAt: new Date() },
      };
    }
    if (command === 'find' && document.find === 'schema_migrations')
      return cursorReply(
        'db.schema_migrations',
        MIGRATIONS.filter((m) => m.name !== pending).map((m) => ({ _id: m.name })),
      );
    return (
      rest(command, document) ??
      (['update', 'insert', 'delete'].includes(command) ? { ok: 1, n: 1, nModified: 1 } : { ok: 1 })
    );
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
      running = await startService({
        MONGODB_URI: double.uri,
        MIGRATE_ON_START: 'false',
        ADMIN_TOKENS: ADMIN,
        STORE_TIMEOUT_MS: '3000',
      });
    };
    const patch = () =>
      request(running!.url)
        .patch('/integrations/facebook')
        .set('Authorization', `Bearer ${ADMIN}`)
        .send({ status: true });

    it('writes with w: majority and a wtimeout below STORE_TIMEOUT_MS, reads with read concern majority', async () => {
      await start((document) => ({
        ok: 1,
        n: (document.updates as { upsert?: boolean }[])[0]!.upsert ? 0 : 1,
        nModified: 1,
      }));
      await patch().expect(200);
      const write = double.documents.find(
        (d) => d.update === 'integrations' && !(d.updates as { upsert?: boolean }[])[0]!.upsert,
      )!;
      expect(write.writeConcern).to.deep.equal({ w: 'majority', wtimeout: writeConcernTimeoutMs(3_000) });
      expect(writeConcernTimeoutMs(3_000)).to.be.below(3_000);
      const reads = double.documents.filter((d) => d.find === 'integrations');
      expect(reads.length).to.be.at.least(2);
      for (const read of reads) {
        expect(read.readConcern).to.deep.equal({ level: 'majority' });
      }
    });

    it(
      'answers a write whose majority did not acknowledge in time (WriteConcernFailed, wtimeout) 503 with ' +
        'Retry-After, not 500',
      async () => {
        await start((document) =>
          (document.updates as { upsert?: boolean }[])[0]!.upsert
            ? { ok: 1, n: 0, nModified: 0 }
            : {
                ok: 1,
                n: 1,
                nModified: 1,
                writeConcernError: {
                  code: 64,
                  codeName: 'WriteConcernFailed',
                  errmsg: 'waiting for replication timed out',
                  errInfo: { wtimeout: true },
                },
              },
        );
        const res = await patch().expect(503).expect('Retry-After', '1');
        expect(res.body.detail).to.include('may still have been applied');
        const line = running!
          .logs()
          .find((l) => l.msg === 'store unavailable' && l.requestId === res.headers['x-request-id']);
        expect(line).to.have.nested.property('err.cause').that.includes('MongoWriteConcernError');
      },
    );
  });

  describe('the read cache', () => {
    const ADMIN = 'wire-admin-token-0123456789';
    const patch = (changes: Document) =>
      request(running!.url).patch('/integrations/facebook').set('Authorization', `Bearer ${ADMIN}`).send(changes);

    it('answers the newer record when two PATCHes are acknowledged in the reverse order they were applied', async () => {
      let release!: () => void;
      const first = new Promise<void>((resolve) => (release = resolve));
      let holding = true;
      const store = statefulStore(
        () => helloReply(21),
        () => {
          if (!holding) return undefined;
          holding = false;
          return first; // the first write's reply stays on the wire
        },
      );
      double = await startWireDouble(store.script);
      running = await startService({
        MONGODB_URI: double.uri,
        MIGRATE_ON_START: 'false',
        ADMIN_TOKENS: ADMIN,
        CACHE_TTL_MS: '60000',
      });
      const v2 = patch({ description: 'first' }).then((res) => res);
      await waitFor(
        'the first write to reach the store',
        () => store.records.find((r) => r.id === 'facebook')!.version === 2,
      );
      const v3 = await patch({ description: 'second' }).expect(200);
      expect(v3.body.version).to.equal(3);
      release();
      expect((await v2).body.version).to.equal(2);
      const read = await request(running.url)
        .get('/integrations/facebook')
        .set('Authorization', `Bearer ${ADMIN}`)
        .expect(200);
      expect(read.body).to.include({ version: 3, description: 'second' });
    });
  });

  describe('on a replica set', () => {
    let host: string;
    const startOn = async (
      changeStream: (command: string, document: Document) => Document | Promise<Document> | undefined,
      options: { direct?: boolean } = {},
    ) => {
      const store = statefulStore(() => replicaSetPrimaryHello(host));
      double = await startWireDouble((command, document) => {
        const streamed = command === 'aggregate' || command === 'getMore' ? changeStream(command, document) : undefined;
        return streamed ?? store.script(command, document);
      });
      host = new URL(double.uri).host;
      const uri = options.direct ? double.uri : double.uri.replace('directConnection=true', 'replicaSet=rs0');
      running = await startService({ MONGODB_URI: uri, MIGRATE_ON_START: 'false', STORE_TIMEOUT_MS: '2000' });
    };
    const aggregates = () => double.documents.filter((d) => d.aggregate === 'integrations');
    it('reads from the primary: the driver names no other read preference', async () => {
      await startOn(liveChangeStream);
      await request(running!.url).get('/integrations/facebook').expect(200);
      const reads = double.documents.filter((d) => d.find === 'integrations');
      expect(reads.length).to.be.at.least(2);
      // On a replica set the driver sends $readPreference for every mode but primary (and primaryPreferred
      // for a direct connection): its absence is the primary, and only the primary.
      for (const read of reads) expect(read).to.not.have.property('$readPreference');
    });

    it('warns at start when MONGODB_URI connects directly to a member, since the driver then reads primaryPreferred', async () => {
      await startOn(liveChangeStream, { direct: true });
      await request(running!.url).get('/integrations/facebook').expect(200);
      expect(
        running!.logs().find((line) => line.level === 'warn' && /directConnection=true/.test(String(line.msg)))?.msg,
      ).to.include('replicaSet=<name>');
      expect(double.documents.filter((d) => d.find === 'integrations').map((d) => d.$readPreference?.mode)).to.include(
        'primaryPreferred',
      );
    });

    it('opens the change stream again after its last token when the server ends it without an error', async () => {
      let ended = false;
      await startOn((command, document) => {
        if (command === 'getMore' && !ended) {
          ended = true; // the server closes the cursor: an empty last batch, cursor id 0
          return {
            ok: 1,
            cursor: {
              id: Long.fromNumber(0),
              ns: 'db.integrations',
              nextBatch: [],
              postBatchResumeToken: { _data: 'a2' },
            },
          };
        }
        return liveChangeStream(command, document);
      });
      await waitFor('the stream to be opened again', () => aggregates().length >= 2, 5_000);
      const reopened = running!.logs().find((line) => line.msg === 'change stream opens again');
      expect(reopened).to.include({ reason: 'the server ended the change stream', attempt: 1 });
      expect((aggregates()[1]!.pipeline as Document[])[0]!.$changeStream.startAfter).to.deep.equal({ _data: 'a2' });
      await waitFor(
        'the stream to be live again',
        () => running!.logs().filter((line) => line.msg === 'change stream live').length >= 1,
      );
      expect((await request(running!.url).get('/readyz').expect(200)).body.checks.cache).to.equal('live');
    });

    it('reports a change stream that cannot open: a log line per try, /readyz degraded but ready, /metrics', async () => {
      await startOn((command) =>
        command === 'aggregate'
          ? { ok: 0, code: 8000, codeName: 'AtlasError', errmsg: 'change streams are not allowed here' }
          : undefined,
      );
      await waitFor('a failure to open to be told', () =>
        running!.logs().find((line) => line.msg === 'change stream opens again'),
      );
      const ready = await request(running!.url).get('/readyz').expect(200);
      expect(ready.body.checks.cache).to.match(
        /^degraded: the change stream failed: change streams are not allowed here; copies expire by CACHE_TTL_MS$/,
      );
      const metrics = (await request(running!.url).get('/metrics').expect(200)).text;
      expect(metrics).to.match(/^mongodb_change_stream_live 0$/m);
      expect(Number(/^mongodb_change_stream_reopens_total (\d+)$/m.exec(metrics)?.[1])).to.be.at.least(1);
      await request(running!.url).get('/integrations/facebook').expect(200); // reads go on, to the store
    });
  });

  describe('the migrations lease', () => {
    let client: MongoClient;
    afterEach(async () => client.close());

    it(
      "takes the lease in one upsert decided on the server's clock ($$NOW), and reports a holder with the time its " +
        'lease has left',
      async () => {
        double = await startWireDouble((command, document) => {
          if (isHello(command)) return helloReply(21);
          if (command === 'findAndModify') {
            const checkedAt = new Date('2026-01-01T00:00:00Z');
            return {
              ok: 1,
              value: {
                _id: '__lease__',
                owner: 'another-runner',
                expiresAt: new Date(checkedAt.getTime() + 42_000),
                checkedAt,
              },
              lastErrorObject: { n: 1, updatedExisting: true },
            };
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
      },
    );

    it('renews the lease (owner checked) before recording a migration, and releases it when done', async () => {
      let owner: string | undefined;
      double = await startWireDouble((command, document) => {
        if (isHello(command)) return helloReply(21);
        if (command === 'findAndModify') {
          owner = JSON.stringify(document.update).match(
            /"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"/,
          )?.[1];
          return {
            ok: 1,
            value: { _id: '__lease__', owner, expiresAt: new Date(Date.now() + 60_000), checkedAt: new Date() },
          };
        }
        if (command === 'find')
          return cursorReply(
            'db.schema_migrations',
            MIGRATIONS.slice(1).map((m) => ({ _id: m.name })),
          );
        if (command === 'update') return { ok: 1, n: 1, nModified: 1 };
        if (command === 'delete') return { ok: 1, n: 1 };
        if (command === 'insert') return { ok: 1, n: 1 };
        return { ok: 1 };
      });
      client = await new MongoClient(double.uri, { serverSelectionTimeoutMS: 2_000 }).connect();
      expect(await applyPendingMigrations(client.db('db'), { maxTimeMS: 1_000 })).to.deep.equal([MIGRATIONS[0]!.name]);
      expect(owner).to.match(/^[0-9a-f-]{36}$/);
      const sent = double.documents.filter(
        (d) => d.update === 'schema_migrations' || d.insert === 'schema_migrations' || d.delete === 'schema_migrations',
      );
      const renew = sent.find((d) => d.update === 'schema_migrations')!;
      expect((renew.updates as { q: Document }[])[0]!.q).to.deep.equal({ _id: '__lease__', owner });
      expect(sent.map((d) => Object.keys(d)[0])).to.deep.equal(['update', 'insert', 'delete']);
      expect((sent[2]!.deletes as { q: Document }[])[0]!.q).to.deep.equal({ _id: '__lease__', owner });
    });
  });

  describe('migration 002 (duplicate ids)', () => {
    let client: MongoClient;
    afterEach(async () => client.close());

    it(
      'deletes a moved duplicate only while it holds what was copied, and copies it again when the old store wrote ' +
        'in between',
      async () => {
        const kept = {
          _id: 1,
          id: 'facebook',
          name: 'Facebook',
          description: '',
          status: true,
          settings: { '1': 'a', b: 'c' },
        };
        let duplicate: Document = {
          _id: 2,
          id: 'facebook',
          name: 'Facebook',
          description: 'before',
          status: false,
          settings: { b: 'c', '1': 'a' },
        };
        let deletes = 0;
        double = await startWireDouble(
          onePendingMigration('002-resolve-duplicate-ids', (command, document) => {
            if (command === 'aggregate') return cursorReply('db.integrations', [{ _id: 'facebook', count: 2 }]);
            if (command === 'find')
              return cursorReply(
                'db.integrations',
                (document.filter as Document)._id !== undefined ? [duplicate] : [kept, duplicate],
              );
            if (command === 'delete' && document.delete === 'integrations') {
              deletes += 1;
              if (deletes === 1) {
                duplicate = { ...duplicate, description: 'written in between' }; // the old store, after the copy
                return { ok: 1, n: 0 };
              }
              return { ok: 1, n: 1 };
            }
            return undefined;
          }),
        );
        client = await new MongoClient(double.uri, { serverSelectionTimeoutMS: 2_000 }).connect();
        expect(await applyPendingMigrations(client.db('db'), { maxTimeMS: 1_000 })).to.deep.equal([
          '002-resolve-duplicate-ids',
        ]);
        const copies = double.documents
          .filter((d) => d.update === 'integrations_duplicates')
          .map((d) => (d.updates as { u: Document }[])[0]!.u);
        expect(copies.map((copy) => copy.description)).to.deep.equal(['before', 'written in between']);
        const filters = double.documents
          .filter((d) => d.delete === 'integrations')
          .map((d) => (d.deletes as { q: Document }[])[0]!.q);
        expect(filters).to.have.length(2);
        expect(filters[0]).to.deep.include({ _id: { $eq: 2 }, description: { $eq: 'before' }, status: { $eq: false } });
        expect(filters[1]).to.deep.include({ description: { $eq: 'written in between' } });
        // settings compared key by key, in any order: {1, b} as JavaScript reads it matches {b, 1} as stored.
        expect(JSON.stringify(filters[0]!.$expr)).to.include('$setEquals').and.include('$objectToArray');
      },
    );
  });

  describe('migration 003 (legacy records)', () => {
    let client: MongoClient;
    afterEach(async () => client.close());

    it(
      'keeps a value JSON cannot carry before the record is rewritten without it, merges what a retry finds, and ' +
        'rewrites only the record as it was read',
      async () => {
        const ref = new ObjectId('65a1b2c3d4e5f60718293a4b');
        let record: Document = {
          _id: 7,
          id: 'legacy',
          name: 'Legacy',
          settings: { color: 'red', at: new Date(0), ref },
        };
        let rewrites = 0;
        double = await startWireDouble(
          onePendingMigration('003-fit-legacy-records', (command, document) => {
            if (command === 'find') return cursorReply('db.integrations', [record]);
            if (command === 'update' && document.update === 'integrations_set_aside')
              return { ok: 1, n: 1, nModified: 0, upserted: [{ index: 0, _id: 7 }] };
            if (command === 'update' && document.update === 'integrations') {
              rewrites += 1;
              if (rewrites === 1) {
                // The old store wrote between the read and the rewrite: the rewrite must not match.
                record = { ...record, settings: { ...record.settings, seen: new Date(1_000) } };
                return { ok: 1, n: 0, nModified: 0 };
              }
            }
            return undefined;
          }),
        );
        client = await new MongoClient(double.uri, { serverSelectionTimeoutMS: 2_000 }).connect();
        expect(await applyPendingMigrations(client.db('db'), { maxTimeMS: 1_000 })).to.deep.equal([
          '003-fit-legacy-records',
        ]);
        const writes = double.documents.filter(
          (d) => d.update === 'integrations_set_aside' || d.update === 'integrations',
        );
        // Each attempt keeps what it sets aside first, then rewrites the record.
        expect(writes.map((d) => d.update)).to.deep.equal([
          'integrations_set_aside',
          'integrations',
          'integrations_set_aside',
          'integrations',
        ]);
        const canonical = (value: unknown) => BSON.EJSON.stringify(value as never, { relaxed: false });
        const kept = writes
          .filter((d) => d.update === 'integrations_set_aside')
          .map((d) => (d.updates as { q: Document; u: Document; upsert: boolean }[])[0]!);
        for (const keep of kept) {
          expect(keep.q).to.deep.equal({ _id: 7 });
          expect(keep.upsert).to.equal(true);
          // Added to what is there, never replacing it: a run that stopped halfway loses nothing.
          expect(keep.u).to.have.keys('$setOnInsert', '$set', '$addToSet');
        }
        const entries = (keep: { u: Document }) =>
          (keep.u.$addToSet as { entries: { $each: Document[] } }).entries.$each;
        expect(entries(kept[0]!)).to.deep.equal([
          { field: 'settings', key: 'at', value: canonical(new Date(0)) },
          { field: 'settings', key: 'ref', value: canonical(ref) },
        ]);
        expect(entries(kept[1]!)).to.deep.include({
          field: 'settings',
          key: 'seen',
          value: canonical(new Date(1_000)),
        });
        expect(canonical(new Date(0))).to.equal('{"$date":{"$numberLong":"0"}}');
        const rewritten = writes
          .filter((d) => d.update === 'integrations')
          .map((d) => (d.updates as { q: Document; u: Document }[])[0]!);
        for (const { q, u } of rewritten) {
          expect(q).to.deep.include({ _id: { $eq: 7 } });
          // The settings as read, key by key: a record the old store changed meanwhile does not match.
          expect(JSON.stringify(q.$expr)).to.include('$setEquals').and.include('$objectToArray');
          expect((u.$set as Document).settings).to.deep.equal({ color: 'red' });
          expect((u.$set as Document).version).to.equal(2);
        }
      },
    );
  });

  it('asks isMaster where the server has no hello (MongoDB 4.4.0 and 4.4.1)', async () => {
    double = await startWireDouble((command) => {
      if (command === 'hello')
        return { ok: 0, code: 59, codeName: 'CommandNotFound', errmsg: 'no such command: hello' };
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
    expect((error as Error).message).to.match(
      /^MongoDB at 127\.0\.0\.1:\d+ is version 4\.2 \(wire version 8\); this service needs MongoDB 4\.4 or later/,
    );
    const ready = await request(running.url).get('/readyz').expect(503);
    expect(ready.body.checks).to.include({ store: 'refused' });
    expect(ready.body.checks.reason).to.include('4.2');
  });

  it('refuses a set whose majority read concern is off (code 148) at once, with one line saying what to change', async () => {
    const store = statefulStore(() => helloReply(9));
    double = await startWireDouble((command, document) =>
      command === 'find' && document.find === 'integrations'
        ? {
            ok: 0,
            code: 148,
            codeName: 'ReadConcernMajorityNotEnabled',
            errmsg: 'Majority read concern requested, but it is not supported by the storage engine.',
          }
        : store.script(command, document),
    );
    running = await startService(
      { MONGODB_URI: double.uri, MIGRATE_ON_START: 'false', STORE_TIMEOUT_MS: '500' },
      { waitUntilReady: false },
    );
    const error = await running.service.whenInitialized().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StartupRefusal);
    expect((error as Error).message).to.match(
      /ReadConcernMajorityNotEnabled, code 148.*enableMajorityReadConcern=false/,
    );
    expect(running.logs().filter((line) => line.msg === 'store not ready; retrying')).to.deep.equal([]);
  });

  it('refuses credentials MongoDB rejects, saying so, and never echoes the password', async () => {
    double = await startWireDouble((command) => {
      if (isHello(command)) return helloReply(21);
      if (command === 'saslStart' || command === 'authenticate')
        return { ok: 0, code: 18, codeName: 'AuthenticationFailed', errmsg: 'Authentication failed.' };
      return { ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'command requires authentication' };
    });
    const uri = double.uri
      .replace('mongodb://', 'mongodb://svc:wrong-password-123@')
      .replace('?', '?authMechanism=SCRAM-SHA-256&');
    running = await startService({ MONGODB_URI: uri, STORE_TIMEOUT_MS: '500' }, { waitUntilReady: false });
    const error = await running.service.whenInitialized().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StartupRefusal);
    expect((error as Error).message).to.include('AuthenticationFailed');
    expect(running.rawLogs()).to.not.include('wrong-password-123');
  });

  it('retries a server that answers but keeps failing (shutting down), reporting it not ready, never refused', async () => {
    double = await startWireDouble((command) =>
      isHello(command)
        ? helloReply(21)
        : { ok: 0, code: 91, codeName: 'ShutdownInProgress', errmsg: 'shutdown in progress' },
    );
    running = await startService({ MONGODB_URI: double.uri, STORE_TIMEOUT_MS: '300' }, { waitUntilReady: false });
    await waitFor(
      'two retries of the start-up',
      () => running!.logs().filter((l) => l.msg === 'store not ready; retrying').length >= 2,
    );
    expect(running.logs().some((l) => l.msg === 'refusing to start')).to.equal(false);
    const ready = await request(running.url).get('/readyz').expect(503);
    expect(ready.body.checks).to.include({ store: 'connecting' });
    expect(double.received.filter((c) => !isHello(c)).length).to.be.at.least(2);
  });

  it(
    'classifies the driver’s own errors: a too-old server and refused credentials are permanent, a network fault ' +
      'is not',
    async () => {
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
    },
  );
});

// On a real MongoDB older than 4.4 (the chatbot's mongo:4.2.20), when CI points MONGODB_OLD_URI at one.
describe('start-up against a real MongoDB older than 4.4 (MONGODB_OLD_URI)', function () {
  this.timeout(30_000);
  before(function () {
    if (!process.env.MONGODB_OLD_URI) this.skip();
  });
  it('refuses at once with one line naming the server version and the minimum', async () => {
    const running = await startService(
      { MONGODB_URI: process.env.MONGODB_OLD_URI, STORE_TIMEOUT_MS: '2000' },
      { waitUntilReady: false },
    );
    try {
      const error = await running.service.whenInitialized().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(StartupRefusal);
      expect((error as Error).message).to.match(/is version 4\.[0-2] .*needs MongoDB 4\.4 or later/);
    } finally {
      await running.stop();
    }
  });
});
