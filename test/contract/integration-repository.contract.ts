// The contract of the IntegrationRepository port. Every adapter runs it, so none can drift from what
// the use cases rely on.
import { expect } from 'chai';
import { IntegrationNotFoundError, VersionConflictError } from '../../src/domain/errors';
import type { StoredIntegration } from '../../src/domain/integration.entity';
import { LIST_CEILING, type IntegrationRepository } from '../../src/application/integration-repository.port';
import { T0, T1, anIntegration, edit, theDefaults } from '../support/integration.mother';

/** A record as the old Python store wrote it: no version, no timestamps, and any field may be missing or null. */
export type LegacyRecord = StoredIntegration;

export interface RepositoryHarness {
  repository: IntegrationRepository;
  cleanup?: () => Promise<void>;
}

/** Makes a fresh store holding `legacy` records, written behind the repository's back as the old store did. */
export type MakeHarness = (legacy: readonly LegacyRecord[]) => Promise<RepositoryHarness>;

export function integrationRepositoryContract(name: string, makeHarness: MakeHarness): void {
  describe(`IntegrationRepository contract: ${name}`, () => {
    let harness: RepositoryHarness | undefined;
    let repository: IntegrationRepository;

    const start = async (legacy: readonly LegacyRecord[] = []): Promise<void> => {
      await harness?.cleanup?.();
      harness = await makeHarness(legacy);
      repository = harness.repository;
    };

    beforeEach(async () => {
      await start();
    });

    afterEach(async () => {
      await harness?.cleanup?.();
      harness = undefined;
    });

    describe('reading', () => {
      it('lists nothing from an empty store', async () => {
        expect(await repository.list()).to.deep.equal([]);
      });

      it('lists every record sorted by id, whatever the insertion order', async () => {
        await repository.insertMissing([
          ...theDefaults(),
          anIntegration({ id: '0-first' }),
          anIntegration({ id: 'zz-last' }),
        ]);
        expect((await repository.list()).map((i) => i.id)).to.deep.equal([
          '0-first',
          'chat_widget',
          'facebook',
          'zz-last',
        ]);
      });

      it('lists at most LIST_CEILING records, the first ones by id', async () => {
        const many = Array.from({ length: LIST_CEILING + 5 }, (_, i) => ({
          id: `channel-${String(i).padStart(4, '0')}`,
          name: `Channel ${i}`,
        }));
        await start(many);
        const listed = await repository.list();
        expect(listed).to.have.length(LIST_CEILING);
        expect(listed.at(-1)!.id).to.equal(many[LIST_CEILING - 1]!.id);
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

      it('hands out records no caller can change: the store keeps what was written', async () => {
        await repository.insertMissing(theDefaults());
        const read = (await repository.findById('facebook'))!;
        expect(() => {
          (read.settings as Record<string, unknown>).secret = 'mutated';
        }).to.throw(TypeError);
        expect(() => {
          (read as { name: string }).name = 'mutated';
        }).to.throw(TypeError);
        expect((await repository.findById('facebook'))!.settings.secret).to.equal('');
      });

      it('answers a ping, with nothing, while the store answers', async () => {
        expect(await repository.ping()).to.equal(undefined);
      });

      it('answers a fresh read (what an edit checks its version against) with what the store holds', async () => {
        await repository.insertMissing(theDefaults());
        await repository.findById('facebook');
        const updated = await edit(repository, 'facebook', { status: true });
        expect((await repository.findById('facebook', { fresh: true }))!.toPrimitives()).to.deep.equal(
          updated.toPrimitives(),
        );
      });
    });

    describe('replacing a record with its next version', () => {
      beforeEach(async () => {
        await repository.insertMissing(theDefaults());
      });

      it('stores the next version whole: what is read back is what the entity made', async () => {
        const updated = await edit(repository, 'facebook', { status: true });
        expect(updated.toPrimitives()).to.deep.include({
          status: true,
          name: 'Facebook Messenger',
          version: 2,
          updatedAt: T1.toISOString(),
          createdAt: T0.toISOString(),
        });
        expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.equal(updated.toPrimitives());
        expect((await repository.list()).find((i) => i.id === 'facebook')!.toPrimitives()).to.deep.equal(
          updated.toPrimitives(),
        );
      });

      it('replaces the whole settings object when settings change', async () => {
        await edit(repository, 'chat_widget', { settings: { color: 'red', position: 'left' } });
        const updated = await edit(repository, 'chat_widget', { settings: { color: 'blue' } });
        expect((await repository.findById('chat_widget'))!.settings).to.deep.equal({ color: 'blue' });
        expect(updated.version).to.equal(3);
      });

      it('refuses a version made from a record another write already replaced, and changes nothing', async () => {
        const base = (await repository.findById('facebook'))!;
        await repository.replace(base.change({ name: 'First writer' }, T1));
        const error = await repository.replace(base.change({ name: 'Second writer' }, T1)).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(VersionConflictError);
        expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.include({
          name: 'First writer',
          version: 2,
        });
      });

      it('never creates: a record the store does not hold is not found and nothing is added', async () => {
        const error = await repository
          .replace(anIntegration({ id: 'telegram' }).change({ name: 'Telegram' }, T1))
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(IntegrationNotFoundError);
        expect((await repository.list()).map((i) => i.id)).to.deep.equal(['chat_widget', 'facebook']);
      });

      it('stores values that look like query operators as plain data', async () => {
        const settings = { verify: '$where', secret: '{"$gt": ""}', page_access_token: '$$ROOT' };
        await edit(repository, 'facebook', { name: '$set', settings });
        expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.include({ name: '$set', settings });
      });

      it('lets exactly one of 10 concurrent replacements of the same version through', async () => {
        const base = (await repository.findById('facebook'))!;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 10 }, (_, n) => repository.replace(base.change({ description: `writer ${n}` }, T1))),
        );
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(outcomes.length - lost.length).to.equal(1);
        expect(lost.every((o) => o.reason instanceof VersionConflictError)).to.equal(true);
        const stored = (await repository.findById('facebook'))!;
        expect(stored.version).to.equal(2);
        expect(stored.description).to.match(/^writer \d$/);
        expect((await repository.list()).filter((i) => i.id === 'facebook')).to.have.length(1);
      });
    });

    describe('inserting what is missing (the seed)', () => {
      it('creates the missing records and reports which existed', async () => {
        expect(await repository.insertMissing(theDefaults())).to.deep.equal({
          created: ['facebook', 'chat_widget'],
          existing: [],
        });
        expect(await repository.insertMissing(theDefaults())).to.deep.equal({
          created: [],
          existing: ['facebook', 'chat_widget'],
        });
      });

      it('never overwrites a record a user changed', async () => {
        await repository.insertMissing(theDefaults());
        await edit(repository, 'facebook', {
          status: true,
          settings: { verify: 'mine', secret: 's', page_access_token: 't' },
        });
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
        for (const result of results)
          expect([...result.created, ...result.existing].sort()).to.deep.equal(['chat_widget', 'facebook']);
      });
    });

    describe('records the old Python store wrote (no version, no timestamps)', () => {
      const legacy: LegacyRecord = {
        id: 'facebook',
        name: 'Facebook Messenger',
        description: 'Connect with Facebook Messenger',
        status: true,
        settings: { verify: 'old-verify', secret: 'old-secret', page_access_token: 'old-token' },
      };

      it('load at version 1 with their data as they are', async () => {
        await start([legacy]);
        const found = await repository.findById('facebook');
        expect(found!.toPrimitives()).to.deep.include({ ...legacy, version: 1 });
        expect(Number.isNaN(found!.createdAt.getTime())).to.equal(false);
        expect((await repository.list()).map((i) => i.id)).to.deep.equal(['facebook']);
      });

      it('load with the fallback of every field they lack or hold as null', async () => {
        await start([{ id: 'chat_widget', settings: null }]);
        expect((await repository.findById('chat_widget'))!.toPrimitives()).to.deep.include({
          id: 'chat_widget',
          name: 'chat_widget',
          description: '',
          status: false,
          settings: {},
          version: 1,
        });
      });

      it('take their next version like any other record, then are at version 2', async () => {
        await start([legacy]);
        const updated = await edit(repository, 'facebook', { status: false });
        expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.equal(updated.toPrimitives());
        expect(updated.toPrimitives()).to.deep.include({ status: false, version: 2, settings: legacy.settings });
      });

      it('refuse a second version 2 made from the same legacy record', async () => {
        await start([legacy]);
        const base = (await repository.findById('facebook'))!;
        await repository.replace(base.change({ status: false }, T1));
        expect(await repository.replace(base.change({ name: 'late' }, T1)).catch((e: unknown) => e)).to.be.instanceOf(
          VersionConflictError,
        );
      });

      it(
        'are read through the legacy fitting: a facebook record with an extra key is served without it, and can be ' +
          'saved back',
        async () => {
          await start([{ ...legacy, settings: { ...legacy.settings, page_token_old: 'x' } }]);
          const found = (await repository.findById('facebook'))!;
          expect(found.settings).to.deep.equal(legacy.settings);
          await repository.replace(found.change({ ...found.fields(), status: false }, T1));
          expect((await repository.findById('facebook'))!.toPrimitives()).to.deep.include({
            version: 2,
            settings: legacy.settings,
          });
        },
      );

      it('are not listed when their id is one no client could name', async () => {
        await start([legacy, { id: 'Not A Slug', name: 'x' }]);
        expect((await repository.list()).map((i) => i.id)).to.deep.equal(['facebook']);
      });

      it('are never overwritten by the seed', async () => {
        await start([legacy]);
        expect(await repository.insertMissing(theDefaults())).to.deep.equal({
          created: ['chat_widget'],
          existing: ['facebook'],
        });
        expect((await repository.findById('facebook'))!.settings).to.deep.equal(legacy.settings);
      });
    });
  });
}
