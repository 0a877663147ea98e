import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { CredentialCipher } from '../../src/adapters/persistence/credential-cipher';
import { EncryptingIntegrationRepository } from '../../src/adapters/persistence/encrypting-integration.repository';
import { InMemoryIntegrationRepository } from '../../src/adapters/persistence/in-memory-integration.repository';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';
import { edit, facebookSettings, theDefaults } from '../support/integration.mother';

integrationRepositoryContract('EncryptingIntegrationRepository over in-memory', async (legacy) => ({
  repository: new EncryptingIntegrationRepository(new InMemoryIntegrationRepository(legacy), new CredentialCipher(randomBytes(32))),
}));

describe('EncryptingIntegrationRepository', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('keeps secret and page_access_token sealed in the store and hands them out opened', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    const repository = new EncryptingIntegrationRepository(store, new CredentialCipher(newKey));
    const settings = facebookSettings();
    const updated = await edit(repository, 'facebook', { settings });
    expect(updated.settings).to.deep.equal(settings);
    const raw = (await store.findById('facebook'))!.settings;
    expect(raw.verify).to.equal(settings.verify);
    expect(raw.secret).to.match(/^enc:v1:/).and.not.include(settings.secret);
    expect(raw.page_access_token).to.match(/^enc:v1:/).and.not.include(settings.page_access_token);
    expect((await repository.findById('facebook'))!.settings).to.deep.equal(settings);
  });

  it('reads credentials stored before encryption was turned on as they are', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    await edit(store, 'facebook', { settings: facebookSettings() });
    const repository = new EncryptingIntegrationRepository(store, new CredentialCipher(newKey));
    expect((await repository.findById('facebook'))!.settings).to.deep.equal(facebookSettings());
  });

  it('opens what the previous key sealed after a rotation, and seals new writes with the new key', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    await edit(new EncryptingIntegrationRepository(store, new CredentialCipher(oldKey)), 'facebook', { settings: facebookSettings() });
    const rotated = new EncryptingIntegrationRepository(store, new CredentialCipher(newKey, [oldKey]));
    expect((await rotated.findById('facebook'))!.settings).to.deep.equal(facebookSettings());

    await edit(rotated, 'facebook', { settings: facebookSettings({ secret: 'rotated-secret' }) });
    const withoutOldKey = new EncryptingIntegrationRepository(store, new CredentialCipher(newKey));
    expect((await withoutOldKey.findById('facebook'))!.settings.secret).to.equal('rotated-secret');
  });

  it('refuses to hand out a credential it cannot open, rather than a sealed blob', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    await edit(new EncryptingIntegrationRepository(store, new CredentialCipher(oldKey)), 'facebook', { settings: facebookSettings() });
    const error = await new EncryptingIntegrationRepository(store, new CredentialCipher(newKey)).findById('facebook').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error).with.property('message').that.includes('ENCRYPTION_KEY_PREVIOUS');
  });

  it('detects a sealed value that was tampered with', () => {
    const cipher = new CredentialCipher(newKey);
    const sealed = cipher.seal('app-secret');
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => cipher.open(tampered)).to.throw();
  });
});
