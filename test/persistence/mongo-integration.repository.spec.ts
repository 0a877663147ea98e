// The MongoDB adapter and its migrations on a real server (see test/support/mongo.ts): the contract suite, and the
// migrations on what the old Python store leaves, beside it still writing, and beside other runners.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { BSON, ObjectId, type Document } from 'mongodb';
import { CredentialCipher } from '../../src/adapters/persistence/credential-cipher';
import { RecordCodec } from '../../src/adapters/persistence/record-codec';
import {
  ID_INDEX_NAME,
  INTEGRATIONS_COLLECTION,
  MongoIntegrationRepository,
} from '../../src/adapters/persistence/mongo/mongo-integration.repository';
import {
  DUPLICATES_COLLECTION,
  MIGRATIONS,
  MIGRATIONS_COLLECTION,
  MigrationLeaseHeld,
  SET_ASIDE_COLLECTION,
  applyPendingMigrations,
  pendingMigrations,
  uniqueIdIndex,
} from '../../src/adapters/persistence/mongo/mongo-migrations';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';
import { T1 } from '../support/integration.mother';
import { describeWithMongo } from '../support/mongo';

const plain = () => new RecordCodec(new CredentialCipher(undefined));
const names = MIGRATIONS.map((m) => m.name);

describeWithMongo('MongoIntegrationRepository', (mongo) => {
  for (const [title, codec] of [
    ['MongoIntegrationRepository', plain],
    ['MongoIntegrationRepository with ENCRYPTION_KEY', () => new RecordCodec(new CredentialCipher(randomBytes(32)))],
  ] as const) {
    integrationRepositoryContract(title, async (legacy) => {
      const { db } = mongo();
      await db.collection(INTEGRATIONS_COLLECTION).deleteMany({});
      const repository = new MongoIntegrationRepository(db, codec(), { maxTimeMS: 5_000, wtimeoutMS: 4_000 });
      await repository.ensureIndexes();
      for (const record of legacy)
        await db.collection(INTEGRATIONS_COLLECTION).insertOne({ _id: new ObjectId(), ...record });
      return { repository };
    });
  }

  it('keeps a unique index on id, so no race can leave two records for one id', async () => {
    const { db } = mongo();
    await new MongoIntegrationRepository(db, plain()).ensureIndexes();
    const indexes = await db.collection(INTEGRATIONS_COLLECTION).indexes();
    expect(indexes.find((index) => index.name === ID_INDEX_NAME)).to.deep.include({ key: { id: 1 }, unique: true });
  });
});

describeWithMongo('migrations', (mongo) => {
  const integrations = () => mongo().db.collection(INTEGRATIONS_COLLECTION);

  it(
    'backfill version and timestamps of legacy records once (a record that fits stays at 1, one fitted moves to ' +
      '2), then have nothing pending',
    async () => {
      const { db } = mongo();
      const widget = new ObjectId();
      const facebook = new ObjectId();
      await integrations().insertMany([
        { _id: widget, id: 'chat_widget', name: 'Chat Widget', description: '', status: true, settings: {} },
        // settings {}: facebook's three settings are missing, so 003 fits it (each as '') and it moves on a version.
        { _id: facebook, id: 'facebook', name: 'Facebook', description: '', status: false, settings: {} },
      ]);
      expect(await pendingMigrations(db)).to.deep.equal(names);
      expect(await applyPendingMigrations(db, { maxTimeMS: 5_000, now: T1 })).to.deep.equal(names);
      expect(await integrations().findOne({ _id: widget })).to.deep.include({
        version: 1,
        createdAt: widget.getTimestamp(),
        updatedAt: widget.getTimestamp(),
      });
      expect(await integrations().findOne({ _id: facebook })).to.deep.include({
        version: 2,
        createdAt: facebook.getTimestamp(),
        updatedAt: T1,
        settings: { verify: '', secret: '', page_access_token: '' },
      });
      expect(await pendingMigrations(db)).to.deep.equal([]);
      expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments()).to.equal(MIGRATIONS.length);
    },
  );

  it('resolve duplicate ids before the unique index: keep the first in natural order, move the others whole', async () => {
    const { db } = mongo();
    const first = new ObjectId();
    const second = new ObjectId();
    await integrations().insertMany([
      {
        _id: first,
        id: 'facebook',
        name: 'Facebook',
        description: '',
        status: true,
        settings: { verify: 'a', secret: 's', page_access_token: 't' },
      },
      {
        _id: second,
        id: 'facebook',
        name: 'Facebook',
        description: '',
        status: false,
        settings: { verify: 'b', secret: '', page_access_token: '' },
      },
    ]);
    const lines: Record<string, unknown>[] = [];
    await applyPendingMigrations(db, {
      maxTimeMS: 5_000,
      now: T1,
      log: (msg, fields) => lines.push({ msg, ...fields }),
    });
    const left = await integrations().find({ id: 'facebook' }).toArray();
    expect(left.map((d) => String(d._id))).to.deep.equal([String(first)]);
    expect((await db.collection(DUPLICATES_COLLECTION).findOne({ _id: second }))?.keptRecord).to.deep.equal(first);
    expect(lines.find((l) => l.msg === 'duplicate id resolved')).to.deep.include({
      id: 'facebook',
      kept: String(first),
      moved: [String(second)],
    });
    expect(await uniqueIdIndex(db)).to.equal(ID_INDEX_NAME);
  });

  it(
    'move a duplicate only as it was copied: a write of the old store between the copy and the delete is copied ' +
      'again, never lost',
    async () => {
      const { db } = mongo();
      const first = new ObjectId();
      const second = new ObjectId();
      await integrations().insertMany([
        { _id: first, id: 'facebook', name: 'Facebook', description: '', status: true, settings: {} },
        { _id: second, id: 'facebook', name: 'Facebook', description: 'before', status: false, settings: {} },
      ]);
      // The old store writes to the duplicate right after its copy is made (the copy's upsert is the cue).
      const duplicates = db.collection(DUPLICATES_COLLECTION);
      const replaceOne = duplicates.replaceOne.bind(duplicates);
      let wrote = false;
      // Each test has a Db object of its own (client.db makes a new one), so the wrapping ends with the test.
      const collection = db.collection.bind(db);
      Object.assign(db, {
        collection: ((name: string) => (name === DUPLICATES_COLLECTION ? duplicates : collection(name))) as never,
      });
      duplicates.replaceOne = (async (...args: Parameters<typeof replaceOne>) => {
        const outcome = await replaceOne(...args);
        if (!wrote) {
          wrote = true;
          await integrations().updateOne({ _id: second }, { $set: { description: 'written in between' } });
        }
        return outcome;
      }) as typeof replaceOne;
      await applyPendingMigrations(db, { maxTimeMS: 5_000, now: T1 });
      expect((await duplicates.findOne({ _id: second }))?.description).to.equal('written in between');
      expect(await integrations().countDocuments({ _id: second })).to.equal(0);
    },
  );

  it('fit a legacy record whose settings have integer-like keys (read back in another order than stored)', async () => {
    const { db } = mongo();
    // Stored b, then 1; JavaScript lists 1 first: a whole-object match would never find the record again.
    await integrations().insertOne({ id: 'legacy', name: null, settings: { z: 1, '7': 2 } });
    const lines: Record<string, unknown>[] = [];
    await applyPendingMigrations(db, { maxTimeMS: 5_000, log: (msg, fields) => lines.push({ msg, ...fields }) });
    expect(lines.filter((l) => String(l.msg).startsWith('legacy record left as it is'))).to.deep.equal([]);
    const fitted = await integrations().findOne({ id: 'legacy' });
    expect(fitted?.version).to.equal(2);
    expect(fitted?.settings).to.deep.equal({ z: 1, '7': 2 });
  });

  it('fit a legacy record holding BSON values JSON cannot carry: set aside as extended JSON, the rest kept', async () => {
    const { db } = mongo();
    const at = new Date(0);
    const ref = new ObjectId();
    await integrations().insertOne({ id: 'legacy', name: 'Legacy', settings: { color: 'red', at, ref } });
    await applyPendingMigrations(db, { maxTimeMS: 5_000, now: T1 });
    const legacy = (await new MongoIntegrationRepository(db, plain()).findById('legacy'))!;
    expect(legacy.settings).to.deep.equal({ color: 'red' });
    expect(legacy.version).to.equal(2);
    const aside = await db.collection(SET_ASIDE_COLLECTION).findOne({ integrationId: 'legacy' });
    expect(aside, 'a set-aside record for legacy').to.not.equal(null);
    const entries = [...(aside!.entries as { field: string; key: string; value: string }[])].sort((a, b) =>
      a.key.localeCompare(b.key),
    );
    expect(entries).to.deep.equal([
      { field: 'settings', key: 'at', value: BSON.EJSON.stringify(at, { relaxed: false }) },
      { field: 'settings', key: 'ref', value: BSON.EJSON.stringify(ref, { relaxed: false }) },
    ]);
    // What was set aside reads back as what the old store held.
    expect(BSON.EJSON.parse(entries[0]!.value, { relaxed: false })).to.deep.equal(at);
  });

  it('resolve duplicates the old store made again after 002, before building the index', async () => {
    const { db } = mongo();
    await integrations().insertOne({
      id: 'chat_widget',
      name: 'Chat Widget',
      description: '',
      status: true,
      settings: {},
    });
    await applyPendingMigrations(db, { maxTimeMS: 5_000 });
    // As if the index had not been built yet and the old store's seeding raced again.
    await db.collection(MIGRATIONS_COLLECTION).deleteOne({ _id: '004-unique-index-on-id' } as never);
    await integrations().dropIndex(ID_INDEX_NAME);
    await integrations().insertOne({
      id: 'chat_widget',
      name: 'Chat Widget',
      description: '',
      status: true,
      settings: {},
    });
    expect(await applyPendingMigrations(db, { maxTimeMS: 5_000 })).to.deep.equal(['004-unique-index-on-id']);
    expect(await integrations().countDocuments({ id: 'chat_widget' })).to.equal(1);
    expect(await db.collection(DUPLICATES_COLLECTION).countDocuments()).to.equal(1);
    expect(await uniqueIdIndex(db)).to.equal(ID_INDEX_NAME);
  });

  it('accept a unique index on id an operator made under another name, and refuse a non-unique one', async () => {
    const { db } = mongo();
    await integrations().createIndex({ id: 1 }, { unique: true, name: 'ops_id' });
    await applyPendingMigrations(db, { maxTimeMS: 5_000 });
    expect(await uniqueIdIndex(db)).to.equal('ops_id');
    await integrations().dropIndex('ops_id');
    await integrations().createIndex({ id: 1 }, { name: 'plain_id' });
    const error = await uniqueIdIndex(db).catch((e: unknown) => e);
    expect((error as Error).message)
      .to.include('plain_id')
      .and.include('not unique');
  });

  it(
    'let one of two concurrent runners apply them; each is recorded once; the other is told the lease and its time ' +
      'left',
    async () => {
      const { db } = mongo();
      await integrations().insertOne({ id: 'chat_widget', name: 'Chat Widget', settings: null });
      const outcomes = await Promise.allSettled([
        applyPendingMigrations(db, { maxTimeMS: 5_000 }),
        applyPendingMigrations(db, { maxTimeMS: 5_000 }),
      ]);
      const applied = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value : []));
      expect(applied.sort()).to.deep.equal([...names].sort());
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(o.reason).to.be.instanceOf(MigrationLeaseHeld);
          expect((o.reason as MigrationLeaseHeld).remainingMs).to.be.within(1, 60_000);
        }
      }
      expect(
        await db.collection(MIGRATIONS_COLLECTION).countDocuments({ _id: { $ne: '__lease__' } } as never),
      ).to.equal(MIGRATIONS.length);
      // Released: no lease is left behind.
      expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments({ _id: '__lease__' } as never)).to.equal(0);
    },
  );

  it("take an expired lease (by the server's clock), and never one that is not", async () => {
    const { db } = mongo();
    const leases = db.collection<Document>(MIGRATIONS_COLLECTION);
    await leases.insertOne({
      _id: '__lease__',
      owner: 'a-runner-that-died',
      expiresAt: new Date(Date.now() + 3_600_000),
    } as never);
    expect(await applyPendingMigrations(db, { maxTimeMS: 5_000 }).catch((e: unknown) => e)).to.be.instanceOf(
      MigrationLeaseHeld,
    );
    await leases.updateOne({ _id: '__lease__' } as never, [{ $set: { expiresAt: { $subtract: ['$$NOW', 1_000] } } }]);
    expect(await applyPendingMigrations(db, { maxTimeMS: 5_000 })).to.deep.equal(names);
  });

  it('release the lease when stopped (SIGTERM) before a step, and record nothing half done', async () => {
    const { db } = mongo();
    const stopping = new AbortController();
    stopping.abort(new Error('SIGTERM'));
    const error = await applyPendingMigrations(db, { maxTimeMS: 5_000, signal: stopping.signal }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).to.equal('SIGTERM');
    expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments()).to.equal(0);
  });

  it('fit a legacy record (settings: null, an extra facebook key) so it can be edited, keeping what it gave up', async () => {
    const { db } = mongo();
    await integrations().insertOne({
      id: 'facebook',
      name: 'Facebook',
      settings: { verify: 'v', extra: 'kept aside' },
    });
    await applyPendingMigrations(db, { maxTimeMS: 5_000, now: T1 });
    const repository = new MongoIntegrationRepository(db, plain());
    const facebook = (await repository.findById('facebook'))!;
    expect(facebook.settings).to.deep.equal({ verify: 'v', secret: '', page_access_token: '' });
    await repository.replace(facebook.change({ settings: { ...facebook.settings, secret: 's' } }, T1));
    const aside = await db.collection(SET_ASIDE_COLLECTION).findOne({ integrationId: 'facebook' });
    expect(aside?.entries).to.deep.equal([{ field: 'settings', key: 'extra', value: '"kept aside"' }]);
  });

  it('keep every value set aside across runs: a second fit of the same record adds to what the first set aside', async () => {
    const { db } = mongo();
    const { insertedId } = await integrations().insertOne({
      id: 'facebook',
      name: 'Facebook',
      description: '',
      status: false,
      settings: { verify: 'v', secret: '', page_access_token: '', first: 1 },
    });
    await applyPendingMigrations(db, { maxTimeMS: 5_000 });
    // The old store writes another key that does not fit, and 003 runs again (a resumed run, or a second one).
    await integrations().updateOne({ _id: insertedId }, { $set: { 'settings.second': 2 } });
    await db.collection(MIGRATIONS_COLLECTION).deleteOne({ _id: '003-fit-legacy-records' } as never);
    await applyPendingMigrations(db, { maxTimeMS: 5_000 });
    const entries = (await db.collection(SET_ASIDE_COLLECTION).findOne({ _id: insertedId }))?.entries as {
      key: string;
    }[];
    expect(entries.map((e) => e.key).sort()).to.deep.equal(['first', 'second']);
  });

  it('never overwrite what the old store writes while 003 fits the record (its $set never moves version)', async () => {
    const { db } = mongo();
    const { insertedId } = await integrations().insertOne({
      id: 'facebook',
      name: 'Facebook',
      description: 'written 0',
      status: false,
      settings: { verify: 'v', extra: 'x' },
    });
    const writes = 40;
    const legacyWriter = (async () => {
      for (let n = 1; n <= writes; n += 1)
        await integrations().updateOne({ _id: insertedId }, { $set: { description: `written ${n}` } });
    })();
    const lines: Record<string, unknown>[] = [];
    await applyPendingMigrations(db, { maxTimeMS: 5_000, log: (msg, fields) => lines.push({ msg, ...fields }) });
    await legacyWriter;
    const stored = await integrations().findOne({ _id: insertedId });
    // Whenever 003's write landed, the old store's last write is what the record says.
    expect(stored?.description).to.equal(`written ${writes}`);
    // Fitted, or (it changed on every attempt) left for reads to fit, and said so.
    const fitted =
      JSON.stringify(stored?.settings) === JSON.stringify({ verify: 'v', secret: '', page_access_token: '' });
    expect(fitted || lines.some((l) => String(l.msg).startsWith('legacy record left as it is'))).to.equal(true);
  });
});
