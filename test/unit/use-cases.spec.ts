// The use cases against a sinon-stubbed repository port: what they ask of the store, and what they refuse.
import { expect } from 'chai';
import sinon from 'sinon';
import { EnsureDefaultIntegrations } from '../../src/application/ensure-default-integrations.use-case';
import { GetIntegration } from '../../src/application/get-integration.use-case';
import type { IntegrationRepository } from '../../src/application/integration-repository.port';
import { ListIntegrations } from '../../src/application/list-integrations.use-case';
import { PatchIntegration } from '../../src/application/patch-integration.use-case';
import { UpdateIntegration } from '../../src/application/update-integration.use-case';
import { IntegrationNotFoundError, ValidationError, VersionConflictError } from '../../src/domain/errors';
import { T0, T1, anIntegration, facebookSettings, theDefaults } from '../support/integration.mother';

type StubbedRepository = { [K in keyof IntegrationRepository]: sinon.SinonStub };

function stubRepository(): StubbedRepository {
  return { list: sinon.stub(), findById: sinon.stub(), update: sinon.stub(), insertMissing: sinon.stub(), ping: sinon.stub() };
}

const clock = { now: () => T1 };

describe('use cases', () => {
  let repository: StubbedRepository;

  beforeEach(() => {
    repository = stubRepository();
  });

  describe('ListIntegrations', () => {
    it('answers what the store lists', async () => {
      const all = theDefaults();
      repository.list.resolves(all);
      expect(await new ListIntegrations(repository).execute()).to.equal(all);
    });
  });

  describe('GetIntegration', () => {
    it('answers the record the store finds', async () => {
      const facebook = theDefaults()[0];
      repository.findById.withArgs('facebook').resolves(facebook);
      expect(await new GetIntegration(repository).execute('facebook')).to.equal(facebook);
    });

    it('throws IntegrationNotFoundError when the store has none', async () => {
      repository.findById.resolves(null);
      const error = await new GetIntegration(repository).execute('telegram').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(IntegrationNotFoundError).with.property('id', 'telegram');
    });

    it('does not ask the store about an id no record can have', async () => {
      const error = await new GetIntegration(repository).execute('{"$ne":null}').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(IntegrationNotFoundError);
      expect(repository.findById.called).to.equal(false);
    });
  });

  describe('PatchIntegration', () => {
    const patch = () => new PatchIntegration(repository, clock);

    it('sends only the fields present, with the If-Match version and the time', async () => {
      const updated = anIntegration({ id: 'facebook', name: 'n', settings: facebookSettings() });
      repository.update.resolves(updated);
      const result = await patch().execute({ id: 'facebook', changes: { status: true, name: undefined }, expectedVersion: 3 });
      expect(result).to.equal(updated);
      expect(repository.update.firstCall.args).to.deep.equal(['facebook', { status: true }, { expectedVersion: 3, now: T1 }]);
    });

    it('refuses an id in the body that differs from the path, and writes nothing', async () => {
      const error = await patch().execute({ id: 'facebook', bodyId: 'chat_widget', changes: { status: true } }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ValidationError).with.property('errors').that.deep.equals([
        { field: '/id', message: 'must equal the id in the path ("facebook"); an id never changes' },
      ]);
      expect(repository.update.called).to.equal(false);
    });

    it('accepts the same id in the body', async () => {
      repository.update.resolves(theDefaults()[0]);
      await patch().execute({ id: 'facebook', bodyId: 'facebook', changes: { status: true } });
      expect(repository.update.calledOnce).to.equal(true);
    });

    it('refuses settings that break the rules, and writes nothing', async () => {
      const error = await patch().execute({ id: 'facebook', changes: { settings: { verify: 'v' } } }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ValidationError);
      expect(repository.update.called).to.equal(false);
    });

    it('treats an empty patch as no change: answers the record as it is, without writing', async () => {
      const facebook = theDefaults()[0];
      repository.findById.resolves(facebook);
      expect(await patch().execute({ id: 'facebook', changes: {} })).to.equal(facebook);
      expect(repository.update.called).to.equal(false);
    });

    it('still honours If-Match on an empty patch', async () => {
      repository.findById.resolves(theDefaults()[0]);
      const error = await patch().execute({ id: 'facebook', changes: {}, expectedVersion: 7 }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(VersionConflictError);
    });

    it('answers not found for an id no record can have, without asking the store', async () => {
      const error = await patch().execute({ id: 'Not A Slug', changes: { status: true } }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(IntegrationNotFoundError);
      expect(repository.update.called).to.equal(false);
    });

    it('passes on what the store says: not found, version conflict', async () => {
      repository.update.onFirstCall().rejects(new IntegrationNotFoundError('custom'));
      repository.update.onSecondCall().rejects(new VersionConflictError('custom', 1));
      expect(await patch().execute({ id: 'custom', changes: { status: true } }).catch((e: unknown) => e)).to.be.instanceOf(IntegrationNotFoundError);
      expect(await patch().execute({ id: 'custom', changes: { status: true }, expectedVersion: 1 }).catch((e: unknown) => e)).to.be.instanceOf(VersionConflictError);
    });
  });

  describe('UpdateIntegration (PUT)', () => {
    const update = () => new UpdateIntegration(new PatchIntegration(repository, clock));

    it('requires name and description, and writes nothing without them', async () => {
      const error = await update().execute({ id: 'facebook', changes: { status: true } }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ValidationError).with.property('errors').that.deep.equals([
        { field: '', message: "must have required property 'name'" },
        { field: '', message: "must have required property 'description'" },
      ]);
      expect(repository.update.called).to.equal(false);
    });

    it('leaves absent status and settings as they are', async () => {
      repository.update.resolves(theDefaults()[0]);
      await update().execute({ id: 'facebook', changes: { name: 'Messenger', description: 'd', status: undefined, settings: undefined } });
      expect(repository.update.firstCall.args[1]).to.deep.equal({ name: 'Messenger', description: 'd' });
    });
  });

  describe('EnsureDefaultIntegrations', () => {
    it('offers the store facebook and chat_widget with their defaults, stamped now', async () => {
      repository.insertMissing.resolves({ created: ['facebook'], existing: ['chat_widget'] });
      const result = await new EnsureDefaultIntegrations(repository, { now: () => T0 }).execute();
      expect(result).to.deep.equal({ created: ['facebook'], existing: ['chat_widget'] });
      const offered = (repository.insertMissing.firstCall.args[0] as ReturnType<typeof theDefaults>).map((i) => i.toPrimitives());
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
