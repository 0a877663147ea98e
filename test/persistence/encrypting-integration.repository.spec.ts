import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { CredentialCipher, MissingKeyError, TamperedCredentialError, keyId, parseSealed, placeOf } from '../../src/adapters/persistence/credential-cipher';
import { resealCredentials, unreadableCredentials } from '../../src/adapters/persistence/credential-resealer';
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
  const facebookWith = (store: InMemoryIntegrationRepository) => store.storedRecords().then((all) => all.find((r) => r.id === 'facebook')!.settings!);

  it('keeps secret and page_access_token sealed (enc:v2) in the store and hands them out opened', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    const repository = new EncryptingIntegrationRepository(store, new CredentialCipher(newKey));
    const settings = facebookSettings();
    const updated = await edit(repository, 'facebook', { settings });
    expect(updated.settings).to.deep.equal(settings);
    const raw = await facebookWith(store);
    expect(raw.verify).to.equal(settings.verify);
    expect(raw.secret).to.match(/^enc:v2:/).and.not.include(settings.secret);
    expect(raw.page_access_token).to.match(/^enc:v2:/).and.not.include(settings.page_access_token);
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

  it('[finding 6] without the key, never hands out a sealed value as the token', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    await edit(new EncryptingIntegrationRepository(store, new CredentialCipher(oldKey)), 'facebook', { settings: facebookSettings() });
    for (const cipher of [new CredentialCipher(undefined), new CredentialCipher(newKey)]) {
      const error = await new EncryptingIntegrationRepository(store, cipher).findById('facebook').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(MissingKeyError);
    }
  });

  it('[finding 6] serves a legacy value that merely starts with enc:v1: as the plain value it is, in the list too', async () => {
    const legacy = 'enc:v1:this-is-my-real-token';
    const store = new InMemoryIntegrationRepository([{ id: 'facebook', settings: { verify: 'v', secret: legacy, page_access_token: 'enc:v1:a:b:c:d' } }]);
    for (const cipher of [new CredentialCipher(undefined), new CredentialCipher(newKey)]) {
      const list = await new EncryptingIntegrationRepository(store, cipher).list();
      expect(list[0].settings).to.deep.include({ secret: legacy, page_access_token: 'enc:v1:a:b:c:d' });
    }
  });
});

describe('CredentialCipher', () => {
  const key = randomBytes(32);

  it('detects a sealed value that was tampered with', () => {
    const cipher = new CredentialCipher(key);
    const sealed = cipher.seal('app-secret', placeOf('facebook', 'secret'));
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => cipher.open(tampered, placeOf('facebook', 'secret'))).to.throw(TamperedCredentialError);
  });

  it('[finding 8] binds a sealed value to its record and field: swapped secret and token do not open', async () => {
    const cipher = new CredentialCipher(key);
    const store = new InMemoryIntegrationRepository(theDefaults());
    const repository = new EncryptingIntegrationRepository(store, cipher);
    await edit(repository, 'facebook', { settings: facebookSettings() });
    const raw = (await store.storedRecords()).find((r) => r.id === 'facebook')!.settings!;
    // Someone with write access to the database swaps the two sealed values.
    const swapped = new InMemoryIntegrationRepository([{ id: 'facebook', settings: { ...raw, secret: raw.page_access_token, page_access_token: raw.secret } }]);
    const error = await new EncryptingIntegrationRepository(swapped, cipher).findById('facebook').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TamperedCredentialError);
    expect(() => cipher.open(raw.secret as string, placeOf('chat_widget', 'secret'))).to.throw(TamperedCredentialError);
  });

  it('[finding 8] enforces the 16-byte tag: a seal with its tag cut short is never decrypted', () => {
    const cipher = new CredentialCipher(key);
    const parts = cipher.seal('app-secret', 'facebook/secret').split(':');
    parts[4] = Buffer.from(parts[4], 'base64url').subarray(0, 4).toString('base64url');
    const cut = parts.join(':');
    expect(parseSealed(cut)).to.equal(null);
    expect(cipher.open(cut, 'facebook/secret')).to.equal(cut).and.not.equal('app-secret');
  });
});

describe('resealing credentials (npm run reseal)', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('[finding 6] seals plaintext and re-seals under the current key; a second run changes nothing', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    await edit(store, 'facebook', { settings: facebookSettings() }); // written before encryption was on
    await edit(store, 'chat_widget', { settings: { secret: 'widget-secret', color: 'red' } });
    const first = await resealCredentials(store, new CredentialCipher(oldKey));
    expect(first.resealed.sort()).to.deep.equal(['chat_widget/secret', 'facebook/page_access_token', 'facebook/secret']);
    const sealedByOld = (await store.storedRecords()).find((r) => r.id === 'facebook')!.settings!.secret as string;
    expect(parseSealed(sealedByOld)!.keyId).to.equal(keyId(oldKey));

    const rotated = new CredentialCipher(newKey, [oldKey]);
    expect((await resealCredentials(store, rotated)).resealed).to.have.length(3);
    const again = await resealCredentials(store, rotated);
    expect(again).to.deep.equal({ resealed: [], unchanged: 3, raced: [] });
    // The old key can go: everything opens with the new one alone.
    const opened = await new EncryptingIntegrationRepository(store, new CredentialCipher(newKey)).findById('facebook');
    expect(opened!.settings).to.deep.equal(facebookSettings());
    expect(unreadableCredentials(await store.storedRecords(), new CredentialCipher(newKey))).to.equal(null);
  });

  it('is resumable: a value changed under it is reported, not overwritten, and the next run finishes', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    await edit(store, 'facebook', { settings: facebookSettings() });
    const swap = store.swapSetting.bind(store);
    let raced = false;
    store.swapSetting = async (id, key, from, to) => {
      if (!raced) {
        raced = true;
        await swap(id, key, from, 'written-meanwhile'); // another writer got there first
      }
      return swap(id, key, from, to);
    };
    const first = await resealCredentials(store, new CredentialCipher(newKey));
    expect(first.raced).to.have.length(1);
    expect((await store.storedRecords()).find((r) => r.id === 'facebook')!.settings).to.deep.include({ secret: 'written-meanwhile' });
    expect((await resealCredentials(store, new CredentialCipher(newKey))).resealed).to.deep.equal(['facebook/secret']);
  });

  it('[finding 6] names, in one line, the credentials a start-up could not open and what to set', async () => {
    const store = new InMemoryIntegrationRepository(theDefaults());
    await edit(new EncryptingIntegrationRepository(store, new CredentialCipher(oldKey)), 'facebook', { settings: facebookSettings() });
    const records = await store.storedRecords();
    const dropped = unreadableCredentials(records, new CredentialCipher(newKey))!;
    expect(dropped).to.include('facebook/secret').and.include(keyId(oldKey)).and.include('ENCRYPTION_KEY_PREVIOUS').and.not.include('\n');
    expect(unreadableCredentials(records, new CredentialCipher(undefined))).to.include('ENCRYPTION_KEY is not set');
    expect(unreadableCredentials(records, new CredentialCipher(newKey, [oldKey]))).to.equal(null);
  });
});
