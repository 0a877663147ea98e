// What the MongoDB adapter sends the driver, checked without a server (the MongoDB leg of the
// contract suite checks what the server then does): filters are plain strings under $eq, client
// values are $literal in the update pipeline, If-Match is in the filter, and legacy records map.
import { expect } from 'chai';
import { ObjectId, type Db } from 'mongodb';
import sinon from 'sinon';
import { MongoIntegrationRepository, toEntity } from '../../src/adapters/persistence/mongo-integration.repository';
import { VersionConflictError } from '../../src/domain/errors';
import { T1, theDefaults } from '../support/integration.mother';

function fakeDb() {
  const collection = {
    findOneAndUpdate: sinon.stub(),
    findOne: sinon.stub(),
    updateOne: sinon.stub(),
  };
  const db = { collection: () => collection, command: sinon.stub() } as unknown as Db;
  return { db, collection };
}

describe('MongoIntegrationRepository queries (no server)', () => {
  it('updates through a pipeline whose client values are all $literal, filtered by id under $eq', async () => {
    const { db, collection } = fakeDb();
    collection.findOneAndUpdate.resolves({ id: 'facebook', name: '$where', version: 2, createdAt: T1, updatedAt: T1 });
    const settings = { verify: '$secret', secret: '$$ROOT', page_access_token: 't' };
    await new MongoIntegrationRepository(db, { maxTimeMS: 500 }).update('facebook', { name: '$where', settings }, { now: T1 });

    const [filter, pipeline, options] = collection.findOneAndUpdate.firstCall.args;
    expect(filter).to.deep.equal({ id: { $eq: 'facebook' } });
    expect(pipeline).to.have.length(1);
    expect(pipeline[0].$set).to.deep.include({ name: { $literal: '$where' }, settings: { $literal: settings }, updatedAt: { $literal: T1 } });
    expect(pipeline[0].$set.version).to.deep.equal({ $add: [{ $ifNull: ['$version', 1] }, 1] });
    expect(pipeline[0].$set).to.not.have.property('status');
    expect(options).to.deep.equal({ returnDocument: 'after', maxTimeMS: 500 });
  });

  it('puts the If-Match version in the filter, treating a record without version as version 1', async () => {
    const { db, collection } = fakeDb();
    collection.findOneAndUpdate.resolves({ id: 'facebook', version: 3 });
    const repository = new MongoIntegrationRepository(db);
    await repository.update('facebook', { status: true }, { expectedVersion: 1, now: T1 });
    await repository.update('facebook', { status: true }, { expectedVersion: 2, now: T1 });
    expect(collection.findOneAndUpdate.firstCall.args[0]).to.deep.equal({
      id: { $eq: 'facebook' },
      $or: [{ version: { $eq: 1 } }, { version: { $exists: false } }],
    });
    expect(collection.findOneAndUpdate.secondCall.args[0]).to.deep.equal({ id: { $eq: 'facebook' }, version: { $eq: 2 } });
  });

  it('tells a stale version (the record exists) from an unknown id when nothing matched', async () => {
    const { db, collection } = fakeDb();
    collection.findOneAndUpdate.resolves(null);
    collection.findOne.resolves({ id: 'facebook', version: 5 });
    const error = await new MongoIntegrationRepository(db).update('facebook', { status: true }, { expectedVersion: 4, now: T1 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(VersionConflictError);
  });

  it('seeds with an upsert that only sets on insert, and counts a lost duplicate-key race as existing', async () => {
    const { db, collection } = fakeDb();
    collection.updateOne.onFirstCall().resolves({ upsertedCount: 1 });
    collection.updateOne.onSecondCall().rejects(Object.assign(new Error('E11000 duplicate key error'), { code: 11000 }));
    const result = await new MongoIntegrationRepository(db).insertMissing(theDefaults());
    expect(result).to.deep.equal({ created: ['facebook'], existing: ['chat_widget'] });
    const [filter, update, options] = collection.updateOne.firstCall.args;
    expect(filter).to.deep.equal({ id: { $eq: 'facebook' } });
    expect(Object.keys(update)).to.deep.equal(['$setOnInsert']);
    expect(update.$setOnInsert).to.deep.include({ id: 'facebook', version: 1, status: false });
    expect(update.$setOnInsert.createdAt).to.be.instanceOf(Date);
    expect(options).to.include({ upsert: true });
  });

  it('maps a record the Python store wrote: version 1, created at its ObjectId time', () => {
    const _id = ObjectId.createFromTime(1_700_000_000);
    const entity = toEntity({ _id, id: 'facebook', name: 'Facebook', description: 'd', status: true, settings: { verify: 'v' } });
    expect(entity.toPrimitives()).to.deep.equal({
      id: 'facebook',
      name: 'Facebook',
      description: 'd',
      status: true,
      settings: { verify: 'v' },
      version: 1,
      createdAt: new Date(1_700_000_000_000).toISOString(),
      updatedAt: new Date(1_700_000_000_000).toISOString(),
    });
  });

  it('maps a record with missing fields to the defaults of the record', () => {
    expect(toEntity({ id: 'legacy' }).toPrimitives()).to.deep.include({ name: 'legacy', description: '', status: false, settings: {}, version: 1 });
  });
});
