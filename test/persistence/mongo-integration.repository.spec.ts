import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { ID_INDEX_NAME, INTEGRATIONS_COLLECTION, MongoIntegrationRepository } from '../../src/adapters/persistence/mongo-integration.repository';
import { MIGRATIONS, MIGRATIONS_COLLECTION, applyPendingMigrations, pendingMigrations } from '../../src/adapters/persistence/mongo-migrations';
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
    expect(await applyPendingMigrations(db, T1)).to.deep.equal(MIGRATIONS.map((m) => m.name));
    const doc = await db.collection(INTEGRATIONS_COLLECTION).findOne({ _id });
    expect(doc).to.deep.include({ version: 1, createdAt: _id.getTimestamp(), updatedAt: _id.getTimestamp() });
    expect(await pendingMigrations(db)).to.deep.equal([]);
    expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments()).to.equal(MIGRATIONS.length);
  });
});
