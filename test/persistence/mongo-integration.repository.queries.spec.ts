// What the MongoDB adapter sends the driver, checked without a server (the MongoDB leg of the contract suite
// checks what the server then does): filters are plain strings under $eq, values stored with a plain $set, the
// version a write was made from is in the filter, every operation carries majority read and write concerns,
// and legacy records map through the domain's door.
import { expect } from 'chai';
import { ObjectId, type Db } from 'mongodb';
import sinon from 'sinon';
import { CredentialCipher } from '../../src/adapters/persistence/credential-cipher';
import { MongoIntegrationRepository } from '../../src/adapters/persistence/mongo/mongo-integration.repository';
import { RecordCodec } from '../../src/adapters/persistence/record-codec';
import { IntegrationNotFoundError, VersionConflictError } from '../../src/domain/errors';
import { T1, theDefaults } from '../support/integration.mother';

const codec = () => new RecordCodec(new CredentialCipher(undefined));

function fakeDb() {
  const collection = { findOne: sinon.stub(), updateOne: sinon.stub() };
  const collectionOptions: unknown[] = [];
  const db = {
    collection: (_name: string, options: unknown) => {
      collectionOptions.push(options);
      return collection;
    },
    command: sinon.stub(),
  } as unknown as Db;
  return { db, collection, collectionOptions };
}

describe('MongoIntegrationRepository queries (no server)', () => {
  it('sends every operation with majority writes bounded by a wtimeout, and majority reads from the primary', () => {
    const { db, collectionOptions } = fakeDb();
    new MongoIntegrationRepository(db, codec(), { maxTimeMS: 3_000, wtimeoutMS: 2_250 });
    expect(collectionOptions).to.deep.equal([
      {
        readPreference: 'primary',
        readConcern: { level: 'majority' },
        writeConcern: { w: 'majority', wtimeoutMS: 2_250 },
      },
    ]);
  });

  it(
    'replaces with $set of the whole next version as plain values, filtered by id under $eq and the version it was ' +
      'made from',
    async () => {
      const { db, collection } = fakeDb();
      collection.updateOne.resolves({ matchedCount: 1 });
      const settings = { verify: '$secret', secret: '$$ROOT', page_access_token: 't' };
      const next = theDefaults()[0]!.change({ name: '$where', settings }, T1);
      await new MongoIntegrationRepository(db, codec(), { maxTimeMS: 500 }).replace(next);

      const [filter, update, options] = collection.updateOne.firstCall.args;
      // A record the old store wrote has no version (or null): it is at version 1.
      expect(filter).to.deep.equal({ id: { $eq: 'facebook' }, version: { $in: [1, null] } });
      // A plain update document (not a pipeline): the server stores values and never evaluates them.
      expect(update).to.deep.equal({ $set: next.toRecord() });
      expect(update.$set).to.deep.include({ name: '$where', settings, version: 2, updatedAt: T1 });
      expect(options).to.deep.equal({ maxTimeMS: 500 });
    },
  );

  it('conditions a later version on exactly the version before it', async () => {
    const { db, collection } = fakeDb();
    collection.updateOne.resolves({ matchedCount: 1 });
    const v2 = theDefaults()[0]!.change({ status: true }, T1);
    await new MongoIntegrationRepository(db, codec()).replace(v2.change({ status: false }, T1));
    expect(collection.updateOne.firstCall.args[0]).to.deep.equal({ id: { $eq: 'facebook' }, version: { $eq: 2 } });
  });

  it('tells another write first (the record exists) from an unknown id when nothing matched', async () => {
    const { db, collection } = fakeDb();
    collection.updateOne.resolves({ matchedCount: 0 });
    collection.findOne.onFirstCall().resolves({ id: 'facebook', version: 5 });
    collection.findOne.onSecondCall().resolves(null);
    const repository = new MongoIntegrationRepository(db, codec());
    const next = theDefaults()[0]!.change({ status: true }, T1);
    expect(await repository.replace(next).catch((e: unknown) => e))
      .to.be.instanceOf(VersionConflictError)
      .with.property('currentVersion', 5);
    expect(await repository.replace(next).catch((e: unknown) => e)).to.be.instanceOf(IntegrationNotFoundError);
  });

  it('seeds with an upsert that only sets on insert, and counts a lost duplicate-key race as existing', async () => {
    const { db, collection } = fakeDb();
    collection.updateOne.onFirstCall().resolves({ upsertedCount: 1 });
    collection.updateOne
      .onSecondCall()
      .rejects(Object.assign(new Error('E11000 duplicate key error'), { code: 11000 }));
    const result = await new MongoIntegrationRepository(db, codec()).insertMissing(theDefaults());
    expect(result).to.deep.equal({ created: ['facebook'], existing: ['chat_widget'] });
    const [filter, update, options] = collection.updateOne.firstCall.args;
    expect(filter).to.deep.equal({ id: { $eq: 'facebook' } });
    expect(Object.keys(update)).to.deep.equal(['$setOnInsert']);
    expect(update.$setOnInsert).to.deep.include({ id: 'facebook', version: 1, status: false });
    expect(update.$setOnInsert.createdAt).to.be.instanceOf(Date);
    expect(options).to.include({ upsert: true });
  });

  it('maps a record the Python store wrote: version 1, created at its ObjectId time, through the legacy fitting', () => {
    const { db } = fakeDb();
    const _id = ObjectId.createFromTime(1_700_000_000);
    const entity = new MongoIntegrationRepository(db, codec()).toEntity({
      _id,
      id: 'facebook',
      name: 'Facebook',
      description: 'd',
      status: true,
      settings: { verify: 'v' },
    });
    expect(entity.toPrimitives()).to.deep.equal({
      id: 'facebook',
      name: 'Facebook',
      description: 'd',
      status: true,
      settings: { verify: 'v', secret: '', page_access_token: '' },
      version: 1,
      createdAt: new Date(1_700_000_000_000).toISOString(),
      updatedAt: new Date(1_700_000_000_000).toISOString(),
    });
  });

  it('maps a record with missing fields to the defaults of the record', () => {
    const { db } = fakeDb();
    expect(new MongoIntegrationRepository(db, codec()).toEntity({ id: 'legacy' }).toPrimitives()).to.deep.include({
      name: 'legacy',
      description: '',
      status: false,
      settings: {},
      version: 1,
    });
  });
});
