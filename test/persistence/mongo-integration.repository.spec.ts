import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { ID_INDEX_NAME, INTEGRATIONS_COLLECTION, MongoIntegrationRepository } from '../../src/adapters/persistence/mongo-integration.repository';
import {
  DUPLICATES_COLLECTION,
  MIGRATIONS,
  MIGRATIONS_COLLECTION,
  MigrationLeaseHeld,
  SET_ASIDE_COLLECTION,
  applyPendingMigrations,
  pendingMigrations,
  uniqueIdIndex,
} from '../../src/adapters/persistence/mongo-migrations';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';
import { describeWithMongo } from '../support/mongo';
import { T1 } from '../support/integration.mother';

describeWithMongo('MongoIntegrationRepository', (getDb) => {
  integrationRepositoryContract('MongoIntegrationRepository', async (legacy) => {
    const db = getDb();
    await db.collection(INTEGRATIONS_COLLECTION).deleteMany({});
    const repository = new MongoIntegrationRepository(db);
    await repository.ensureIndexes();
    for (const record of legacy) await db.collection(INTEGRATIONS_COLLECTION).insertOne({ _id: new ObjectId(), ...record });
    return { repository };
  });

  it('keeps a unique index on id, so no race can leave two records for one id', async () => {
    const db = getDb();
    await new MongoIntegrationRepository(db).ensureIndexes();
    const indexes = await db.collection(INTEGRATIONS_COLLECTION).indexes();
    expect(indexes.find((index) => index.name === ID_INDEX_NAME)).to.deep.include({ key: { id: 1 }, unique: true });
  });

  it('backfills version and timestamps of legacy records once, then has nothing pending', async () => {
    const db = getDb();
    const _id = new ObjectId();
    await db.collection(INTEGRATIONS_COLLECTION).insertOne({ _id, id: 'facebook', name: 'Facebook', description: '', status: false, settings: {} });
    expect(await pendingMigrations(db)).to.deep.equal(MIGRATIONS.map((m) => m.name));
    expect(await applyPendingMigrations(db, { maxTimeMS: 5_000, now: T1 })).to.deep.equal(MIGRATIONS.map((m) => m.name));
    const doc = await db.collection(INTEGRATIONS_COLLECTION).findOne({ _id });
    expect(doc).to.deep.include({ version: 1, createdAt: _id.getTimestamp(), updatedAt: _id.getTimestamp() });
    expect(await pendingMigrations(db)).to.deep.equal([]);
    expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments()).to.equal(MIGRATIONS.length);
  });

  it('resolves duplicate ids before the unique index: keeps the first in natural order, moves the others whole', async () => {
    const db = getDb();
    const first = new ObjectId();
    const second = new ObjectId();
    await db.collection(INTEGRATIONS_COLLECTION).insertMany([
      { _id: first, id: 'facebook', name: 'Facebook', description: '', status: true, settings: { verify: 'a', secret: 's', page_access_token: 't' } },
      { _id: second, id: 'facebook', name: 'Facebook', description: '', status: false, settings: { verify: 'b', secret: '', page_access_token: '' } },
    ]);
    const lines: Record<string, unknown>[] = [];
    await applyPendingMigrations(db, { maxTimeMS: 5_000, now: T1, log: (msg, fields) => lines.push({ msg, ...fields }) });
    const left = await db.collection(INTEGRATIONS_COLLECTION).find({ id: 'facebook' }).toArray();
    expect(left.map((d) => String(d._id))).to.deep.equal([String(first)]);
    expect((await db.collection(DUPLICATES_COLLECTION).findOne({ _id: second }))?.keptRecord).to.deep.equal(first);
    expect(lines.find((l) => l.msg === 'duplicate id resolved')).to.deep.include({ id: 'facebook', kept: String(first), moved: [String(second)] });
    expect(await uniqueIdIndex(db)).to.equal(ID_INDEX_NAME);
  });

  it('accepts a unique index on id an operator made under another name, and refuses a non-unique one', async () => {
    const db = getDb();
    await db.collection(INTEGRATIONS_COLLECTION).createIndex({ id: 1 }, { unique: true, name: 'ops_id' });
    await applyPendingMigrations(db, { maxTimeMS: 5_000 });
    expect(await uniqueIdIndex(db)).to.equal('ops_id');
    await db.collection(INTEGRATIONS_COLLECTION).dropIndex('ops_id');
    await db.collection(INTEGRATIONS_COLLECTION).createIndex({ id: 1 }, { name: 'plain_id' });
    const error = await uniqueIdIndex(db).catch((e: unknown) => e);
    expect((error as Error).message).to.include('plain_id').and.include('not unique');
  });

  it('lets one of two concurrent runners apply the migrations; each is recorded once', async () => {
    const db = getDb();
    await db.collection(INTEGRATIONS_COLLECTION).insertOne({ id: 'chat_widget', name: 'Chat Widget', settings: null });
    const outcomes = await Promise.allSettled([applyPendingMigrations(db, { maxTimeMS: 5_000 }), applyPendingMigrations(db, { maxTimeMS: 5_000 })]);
    const applied = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value : []));
    expect(applied.sort()).to.deep.equal(MIGRATIONS.map((m) => m.name).sort());
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).to.be.instanceOf(MigrationLeaseHeld);
    expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments({ _id: { $ne: '__lease__' } } as never)).to.equal(MIGRATIONS.length);
  });

  it('fits a legacy record with settings: null so it can be edited, keeping what it gave up', async () => {
    const db = getDb();
    await db.collection(INTEGRATIONS_COLLECTION).insertOne({ id: 'facebook', name: 'Facebook', settings: { verify: 'v', extra: 'kept aside' } });
    await applyPendingMigrations(db, { maxTimeMS: 5_000, now: T1 });
    const repository = new MongoIntegrationRepository(db);
    const facebook = (await repository.findById('facebook'))!;
    expect(facebook.settings).to.deep.equal({ verify: 'v', secret: '', page_access_token: '' });
    await repository.replace(facebook.change({ settings: { ...facebook.settings, secret: 's' } }, T1));
    expect((await db.collection(SET_ASIDE_COLLECTION).findOne({ integrationId: 'facebook' }))?.setAside).to.deep.equal({ settings: { extra: 'kept aside' } });
  });
});
