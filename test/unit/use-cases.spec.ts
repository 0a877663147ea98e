// The use cases against a sinon-stubbed repository port: what they ask of the store, and what they refuse.
import { expect } from 'chai';
import sinon from 'sinon';
import { EnsureDefaultIntegrations } from '../../src/application/ensure-default-integrations.use-case';
import { GetIntegration } from '../../src/application/get-integration.use-case';
import type { IntegrationRepository } from '../../src/application/integration-repository.port';
import { ListIntegrations } from '../../src/application/list-integrations.use-case';
import { EditIntegration } from '../../src/application/edit-integration.use-case';
import type { Integration } from '../../src/domain/integration.entity';
import {
  IntegrationNotFoundError,
  StoreUnavailableError,
  ValidationError,
  VersionConflictError,
} from '../../src/domain/errors';
import { T0, T1, theDefaults } from '../support/integration.mother';

type StubbedRepository = { [K in keyof IntegrationRepository]-?: sinon.SinonStub };

function stubRepository(): StubbedRepository {
  return {
    list: sinon.stub(),
    findById: sinon.stub(),
    held: sinon.stub(),
    replace: sinon.stub(),
    insertMissing: sinon.stub(),
    ping: sinon.stub(),
  };
}

const clock = { now: () => T1 };

/** What a call came to: its value, or the error it failed with (thrown or rejected). */
const outcome = (call: () => unknown): Promise<unknown> =>
  Promise.resolve()
    .then(call)
    .catch((error: unknown) => error);

describe('use cases', () => {
  let repository: StubbedRepository;

  beforeEach(() => {
    repository = stubRepository();
  });

  describe('ListIntegrations', () => {
    it('answers what the store lists', async () => {
      const all = theDefaults();
      repository.list.resolves(all);
      expect(await new ListIntegrations(repository).execute()).to.deep.equal({ value: all });
    });
  });

  describe('GetIntegration', () => {
    it('answers the record the store finds', async () => {
      const facebook = theDefaults()[0];
      repository.findById.withArgs('facebook').resolves(facebook);
      expect(await new GetIntegration(repository).execute({ id: 'facebook' })).to.deep.equal({ value: facebook });
    });

    it('throws IntegrationNotFoundError when the store has none', async () => {
      repository.findById.resolves(null);
      const error = await outcome(() => new GetIntegration(repository).execute({ id: 'telegram' }));
      expect(error).to.be.instanceOf(IntegrationNotFoundError).with.property('id', 'telegram');
    });

    it('answers the copy a store that did not answer still holds, saying how old it is', async () => {
      const facebook = theDefaults()[0];
      repository.findById.rejects(new StoreUnavailableError('down', { lastKnown: { value: facebook, ageMs: 1_500 } }));
      expect(await new GetIntegration(repository).execute({ id: 'facebook' })).to.deep.equal({
        value: facebook,
        staleForMs: 1_500,
      });
    });

    it('never answers a reader a copy older than a version it has seen: 503 instead', async () => {
      const v1 = theDefaults()[0];
      repository.findById.rejects(new StoreUnavailableError('down', { lastKnown: { value: v1, ageMs: 10 } }));
      const error = await outcome(() => new GetIntegration(repository).execute({ id: 'facebook', seenVersion: 2 }));
      expect(error).to.be.instanceOf(StoreUnavailableError);
    });

    it('reads the store itself when the answer it got is older than a version the reader has seen', async () => {
      const v1 = theDefaults()[0];
      const v2 = v1.change({ status: true }, T1);
      repository.findById.withArgs('facebook').resolves(v1);
      repository.findById.withArgs('facebook', { fresh: true }).resolves(v2);
      expect((await new GetIntegration(repository).execute({ id: 'facebook', seenVersion: 2 })).value).to.equal(v2);
    });

    it('does not ask the store about an id no record can have', async () => {
      const error = await outcome(() => new GetIntegration(repository).execute({ id: '{"$ne":null}' }));
      expect(error).to.be.instanceOf(IntegrationNotFoundError);
      expect(repository.findById.called).to.equal(false);
      expect(repository.held.called).to.equal(false);
    });

    it('answers at once, without a promise or the store, from a current copy the repository holds', () => {
      const facebook = theDefaults()[0];
      repository.held.withArgs('facebook').returns(facebook);
      expect(new GetIntegration(repository).execute({ id: 'facebook', seenVersion: facebook.version })).to.deep.equal({
        value: facebook,
      });
      expect(repository.findById.called).to.equal(false);
    });

    it('reads the store itself when the copy held is older than a version the reader has seen', async () => {
      const v1 = theDefaults()[0];
      const v2 = v1.change({ status: true }, T1);
      repository.held.withArgs('facebook').returns(v1);
      repository.findById.withArgs('facebook').resolves(v1);
      repository.findById.withArgs('facebook', { fresh: true }).resolves(v2);
      const served = new GetIntegration(repository).execute({ id: 'facebook', seenVersion: 2 });
      expect(served).to.be.instanceOf(Promise);
      expect((await served).value).to.equal(v2);
    });

    it('answers not found, as a rejected promise, when the copy held says there is no such record', async () => {
      repository.held.withArgs('telegram').returns(null);
      repository.findById.withArgs('telegram').resolves(null);
      const served = new GetIntegration(repository).execute({ id: 'telegram' });
      expect(served).to.be.instanceOf(Promise);
      expect(await outcome(() => served)).to.be.instanceOf(IntegrationNotFoundError);
    });
  });

  describe('EditIntegration', () => {
    const editing = () => new EditIntegration(repository, clock);
    const facebook = () => theDefaults()[0];

    it('reads the record, applies only the fields given, and stores the next version made from it', async () => {
      repository.findById.resolves(facebook());
      repository.replace.resolves();
      const { integration: result } = await editing().execute({
        id: 'facebook',
        changes: { status: true, name: undefined },
      });
      expect(result.toPrimitives()).to.deep.include({
        status: true,
        name: 'Facebook Messenger',
        version: 2,
        updatedAt: T1.toISOString(),
      });
      expect(repository.replace.firstCall.args[0]).to.equal(result);
    });

    it('checks the version against the store itself, never a copy kept for speed', async () => {
      repository.findById.resolves(facebook());
      repository.replace.resolves();
      await editing().execute({ id: 'facebook', changes: { status: true }, precondition: { versionIn: [1] } });
      expect(repository.findById.firstCall.args).to.deep.equal(['facebook', { fresh: true }]);
    });

    it('refuses settings that break the rules, and writes nothing', async () => {
      repository.findById.resolves(facebook());
      const error = await editing()
        .execute({ id: 'facebook', changes: { settings: { verify: 'v' } } })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ValidationError);
      expect(repository.replace.called).to.equal(false);
    });

    it('treats no change as no change: answers the record as it is, without writing', async () => {
      repository.findById.resolves(facebook());
      expect((await editing().execute({ id: 'facebook', changes: {} })).integration.version).to.equal(1);
      expect(repository.replace.called).to.equal(false);
    });

    it('applies only while the record is at a version of the precondition, even with no change', async () => {
      repository.findById.resolves(facebook());
      repository.replace.resolves();
      for (const precondition of [
        { versionIn: [7] },
        { versionIn: [] },
        { versionNotIn: [1] },
        { versionNotIn: 'any' as const },
      ]) {
        const error = await editing()
          .execute({ id: 'facebook', changes: {}, precondition })
          .catch((e: unknown) => e);
        expect(error, JSON.stringify(precondition))
          .to.be.instanceOf(VersionConflictError)
          .with.property('currentVersion', 1);
      }
      expect(
        (
          await editing().execute({
            id: 'facebook',
            changes: { status: true },
            precondition: { versionIn: [3, 1], versionNotIn: [2] },
          })
        ).integration.version,
      ).to.equal(2);
      expect(repository.replace.callCount).to.equal(1);
    });

    it('answers not found for an id no record can have, without asking the store', async () => {
      const error = await editing()
        .execute({ id: 'Not A Slug', changes: { status: true } })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(IntegrationNotFoundError);
      expect(repository.findById.called).to.equal(false);
    });

    it('answers not found for an unknown id', async () => {
      repository.findById.resolves(null);
      expect(
        await editing()
          .execute({ id: 'telegram', changes: { status: true } })
          .catch((e: unknown) => e),
      ).to.be.instanceOf(IntegrationNotFoundError);
    });

    it('re-applies an unconditional edit on the newer record when another write came first', async () => {
      const v1 = facebook();
      const v2 = v1.change({ description: 'someone else' }, T1);
      repository.findById.onFirstCall().resolves(v1).onSecondCall().resolves(v2);
      repository.replace.onFirstCall().rejects(new VersionConflictError('facebook', 2)).onSecondCall().resolves();
      const { integration: result, previous } = await editing().execute({ id: 'facebook', changes: { status: true } });
      expect(result.toPrimitives()).to.deep.include({ status: true, description: 'someone else', version: 3 });
      expect(previous).to.equal(v2);
    });

    it('never re-applies a conditional edit: the version it depended on is gone', async () => {
      repository.findById.resolves(facebook());
      repository.replace.rejects(new VersionConflictError('facebook', 2));
      const error = await editing()
        .execute({ id: 'facebook', changes: { status: true }, precondition: { versionIn: [1] } })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(VersionConflictError);
      expect(repository.replace.callCount).to.equal(1);
    });

    it('gives up with StoreUnavailableError (a 503, retry) when it keeps losing the race past its patience', async () => {
      repository.findById.resolves(facebook());
      repository.replace.rejects(new VersionConflictError('facebook', 2));
      const started = performance.now();
      const error = await new EditIntegration(repository, clock, 100)
        .execute({ id: 'facebook', changes: { status: true } })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(StoreUnavailableError);
      expect(repository.replace.callCount).to.be.greaterThan(1);
      expect(performance.now() - started).to.be.within(80, 1_000);
    });

    it('applies every one of 20 concurrent edits when a write takes 50 ms to reach a majority', async () => {
      // As on a replica set: a write applies on the primary at once and is acknowledged once a majority has it;
      // a majority read sees it only then, so a writer that lost reads a version that is already gone.
      const MAJORITY_MS = 50;
      const history = [{ record: facebook(), committedAt: 0 }];
      const latest = () => history.at(-1)!.record;
      const store = {
        findById: async () => {
          const now = performance.now();
          return [...history].reverse().find((entry) => entry.committedAt <= now)!.record;
        },
        replace: async (next: Integration) => {
          if (latest().version !== next.version - 1) throw new VersionConflictError(next.id, latest().version);
          const committedAt = performance.now() + MAJORITY_MS;
          history.push({ record: next, committedAt });
          await new Promise((resolve) => setTimeout(resolve, MAJORITY_MS));
        },
      };
      const edits = new EditIntegration(store as never, clock);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          edits.execute({ id: 'facebook', changes: { description: `writer ${i}` } }),
        ),
      );
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).to.deep.equal([]);
      expect(latest().version).to.equal(facebook().version + 20);
    });
  });

  describe('EnsureDefaultIntegrations', () => {
    it('offers the store facebook and chat_widget with their defaults, stamped now', async () => {
      repository.insertMissing.resolves({ created: ['facebook'], existing: ['chat_widget'] });
      const result = await new EnsureDefaultIntegrations(repository, { now: () => T0 }).execute();
      expect(result.created.map((integration) => integration.toPrimitives())).to.deep.equal([
        theDefaults(T0)[0].toPrimitives(),
      ]);
      expect(result.existing).to.deep.equal(['chat_widget']);
      const offered = (repository.insertMissing.firstCall.args[0] as ReturnType<typeof theDefaults>).map((i) =>
        i.toPrimitives(),
      );
      expect(offered).to.deep.equal(theDefaults(T0).map((i) => i.toPrimitives()));
      expect(offered[0]).to.deep.include({
        id: 'facebook',
        name: 'Facebook Messenger',
        status: false,
        settings: { verify: 'ai-chatbot-framework', secret: '', page_access_token: '' },
      });
      expect(offered[1]).to.deep.include({ id: 'chat_widget', name: 'Chat Widget', status: true, settings: {} });
    });
  });
});
