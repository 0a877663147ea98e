// The contract of the IntegrationRepository port. Every adapter runs it, so none can drift from what
// the use cases rely on.
import { expect } from 'chai';
import { IntegrationNotFoundError, VersionConflictError } from '../../src/domain/errors';
import type { IntegrationRepository } from '../../src/application/integration-repository.port';
import { T0, T1, anIntegration, theDefaults } from '../support/integration.mother';

/** A record as the old Python store wrote it: no version, no timestamps. */
export interface LegacyRecord {
  id: string;
  name: string;
  description: string;
  status: boolean;
  settings: Record<string, unknown>;
}

export interface RepositoryHarness {
  repository: IntegrationRepository;
  /** Writes a record behind the repository's back, as the old store did; absent where there is no such thing. */
  insertLegacy?: (record: LegacyRecord) => Promise<void>;
  cleanup?: () => Promise<void>;
}

export function integrationRepositoryContract(name: string, makeHarness: () => Promise<RepositoryHarness>): void {
  describe(`IntegrationRepository contract: ${name}`, () => {
    let harness: RepositoryHarness;
    let repository: IntegrationRepository;

    beforeEach(async () => {
      harness = await makeHarness();
      repository = harness.repository;
    });

    afterEach(async () => {
      await harness.cleanup?.();
    });

    describe('reading', () => {
      it('lists nothing from an empty store', async () => {
        expect(await repository.list()).to.deep.equal([]);
      });

      it('lists every record sorted by id, whatever the insertion order', async () => {
        await repository.insertMissing([...theDefaults(), anIntegration({ id: '0-first' }), anIntegration({ id: 'zz-last' })]);
        expect((await repository.list()).map((i) => i.id)).to.deep.equal(['0-first', 'chat_widget', 'facebook', 'zz-last']);
      });

      it('finds a record by id exactly as it was inserted', async () => {
        const custom = anIntegration({ settings: { nested: { list: [1, 'two', null, true] } } });
        await repository.insertMissing([custom]);
        expect((await repository.findById('custom'))?.toPrimitives()).to.deep.equal(custom.toPrimitives());
      });

      it('answers null for an unknown id', async () => {
        await repository.insertMissing(theDefaults());
        expect(await repository.findById('telegram')).to.equal(null);
      });

      it('hands out copies: changing a returned record does not change the store', async () => {
        await repository.insertMissing(theDefaults());
        const read = await repository.findById('facebook');
        read!.settings.secret = 'mutated';
        expect((await repository.findById('facebook'))!.settings.secret).to.equal('');
      });

      it('answers a ping', async () => {
        await repository.ping();
      });
    });

    describe('updating', () => {
      beforeEach(async () => {
        await repository.insertMissing(theDefaults());
      });

      it('changes only the fields given, bumps the version by one and stamps updatedAt', async () => {
        const updated = await repository.update('facebook', { status: true }, { now: T1 });
        expect(updated.toPrimitives()).to.deep.include({ status: true, name: 'Facebook Messenger', version: 2, updatedAt: T1.toISOString(), createdAt: T0.toISOString() });
        expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.equal(updated.toPrimitives());
      });

      it('replaces the whole settings object when settings are given', async () => {
        await repository.update('chat_widget', { settings: { color: 'red', position: 'left' } }, { now: T1 });
        const updated = await repository.update('chat_widget', { settings: { color: 'blue' } }, { now: T1 });
        expect(updated.settings).to.deep.equal({ color: 'blue' });
      });

      it('writes when the expected version is current', async () => {
        const updated = await repository.update('facebook', { name: 'Messenger' }, { expectedVersion: 1, now: T1 });
        expect(updated.version).to.equal(2);
      });

      it('refuses a stale expected version and changes nothing', async () => {
        await repository.update('facebook', { name: 'First writer' }, { now: T1 });
        const error = await repository.update('facebook', { name: 'Second writer' }, { expectedVersion: 1, now: T1 }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(VersionConflictError);
        expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.include({ name: 'First writer', version: 2 });
      });

      it('never creates: an unknown id is not found and nothing is added', async () => {
        const error = await repository.update('telegram', { name: 'Telegram' }, { now: T1 }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(IntegrationNotFoundError);
        expect((await repository.list()).map((i) => i.id)).to.deep.equal(['chat_widget', 'facebook']);
      });

      it('stores values that look like query operators as plain data', async () => {
        const settings = { verify: '$where', secret: '{"$gt": ""}', page_access_token: '$$ROOT' };
        await repository.update('facebook', { name: '$set', settings }, { now: T1 });
        expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.include({ name: '$set', settings });
      });

      it('applies 10 concurrent unconditional updates one after another: versions 2 to 11, one record', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, n) => repository.update('facebook', { description: `burst ${n}` }, { now: T1 })),
        );
        expect(results.map((r) => r.version).sort((a, b) => a - b)).to.deep.equal([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        expect((await repository.findById('facebook'))!.version).to.equal(11);
        expect((await repository.list()).filter((i) => i.id === 'facebook')).to.have.length(1);
      });

      it('lets exactly one of 10 concurrent writes at the same expected version through', async () => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 10 }, (_, n) => repository.update('facebook', { description: `writer ${n}` }, { expectedVersion: 1, now: T1 })),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).to.have.length(1);
        expect(lost.every((o) => o.reason instanceof VersionConflictError)).to.equal(true);
        expect((await repository.findById('facebook'))!.version).to.equal(2);
      });
    });

    describe('inserting what is missing (the seed)', () => {
      it('creates the missing records and reports which existed', async () => {
        expect(await repository.insertMissing(theDefaults())).to.deep.equal({ created: ['facebook', 'chat_widget'], existing: [] });
        expect(await repository.insertMissing(theDefaults())).to.deep.equal({ created: [], existing: ['facebook', 'chat_widget'] });
      });

      it('never overwrites a record a user changed', async () => {
        await repository.insertMissing(theDefaults());
        await repository.update('facebook', { status: true, settings: { verify: 'mine', secret: 's', page_access_token: 't' } }, { now: T1 });
        await repository.insertMissing(theDefaults(T1));
        expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.include({
          status: true,
          version: 2,
          settings: { verify: 'mine', secret: 's', page_access_token: 't' },
        });
      });

      it('leaves exactly one record per id after 20 concurrent calls, each id created once', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => repository.insertMissing(theDefaults())));
        expect((await repository.list()).map((i) => i.id)).to.deep.equal(['chat_widget', 'facebook']);
        const created = results.flatMap((r) => r.created).sort();
        expect(created).to.deep.equal(['chat_widget', 'facebook']);
        for (const result of results) expect([...result.created, ...result.existing].sort()).to.deep.equal(['chat_widget', 'facebook']);
      });
    });

    describe('records the old Python store wrote (no version, no timestamps)', function () {
      const legacy: LegacyRecord = {
        id: 'facebook',
        name: 'Facebook Messenger',
        description: 'Connect with Facebook Messenger',
        status: true,
        settings: { verify: 'old-verify', secret: 'old-secret', page_access_token: 'old-token' },
      };

      beforeEach(function () {
        // The in-memory store never held such records: only adapters over a real database run these.
        if (!harness.insertLegacy) this.skip();
      });

      it('load at version 1 with their data as they are', async () => {
        await harness.insertLegacy!(legacy);
        const found = await repository.findById('facebook');
        expect(found!.toPrimitives()).to.deep.include({ ...legacy, version: 1 });
        expect(Number.isNaN(found!.createdAt.getTime())).to.equal(false);
        expect((await repository.list()).map((i) => i.id)).to.deep.equal(['facebook']);
      });

      it('take an update conditional on version 1, then are at version 2', async () => {
        await harness.insertLegacy!(legacy);
        const updated = await repository.update('facebook', { status: false }, { expectedVersion: 1, now: T1 });
        expect(updated.toPrimitives()).to.deep.include({ status: false, version: 2, settings: legacy.settings });
      });

      it('are never overwritten by the seed', async () => {
        await harness.insertLegacy!(legacy);
        expect(await repository.insertMissing(theDefaults())).to.deep.equal({ created: ['chat_widget'], existing: ['facebook'] });
        expect((await repository.findById('facebook'))!.settings).to.deep.equal(legacy.settings);
      });
    });
  });
}
