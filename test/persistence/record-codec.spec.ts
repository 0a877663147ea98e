// Credentials at rest: the codec seals them in the stored record and opens them on the way out, for both
// stores; the cipher binds each sealed value to its record and field; reseal rotates; the start-up check
// names what it cannot open.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import sinon from 'sinon';
import {
  CredentialCipher,
  TamperedCredentialError,
  keyId,
  parseSealed,
  placeOf,
} from '../../src/adapters/persistence/credential-cipher';
import { resealCredentials, unreadableCredentials } from '../../src/adapters/persistence/credential-resealer';
import { InMemoryIntegrationRepository } from '../../src/adapters/persistence/in-memory-integration.repository';
import { RecordCodec, UnreadableCredentialError } from '../../src/adapters/persistence/record-codec';
import { StoreUnavailableError } from '../../src/domain/errors';
import { integrationRepositoryContract } from '../contract/integration-repository.contract';
import { edit, facebookSettings, theDefaults } from '../support/integration.mother';

const withKey = (key: Buffer | undefined, previous: Buffer[] = []) =>
  new RecordCodec(new CredentialCipher(key, previous));
const defaults = () => theDefaults().map((integration) => integration.toRecord());

integrationRepositoryContract('InMemoryIntegrationRepository with ENCRYPTION_KEY', async (legacy) => ({
  repository: new InMemoryIntegrationRepository(legacy, withKey(randomBytes(32))),
}));

describe('credentials at rest (RecordCodec)', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const facebookWith = (store: InMemoryIntegrationRepository) =>
    store.storedRecords().then((all) => all.find((r) => r.id === 'facebook')!.settings!);

  afterEach(() => sinon.restore());

  it('keeps secret and page_access_token sealed (enc:v2) in the store and hands them out opened', async () => {
    const store = new InMemoryIntegrationRepository(defaults(), withKey(newKey));
    const settings = facebookSettings();
    const updated = await edit(store, 'facebook', { settings });
    expect(updated.settings).to.deep.equal(settings);
    const raw = await facebookWith(store);
    expect(raw.verify).to.equal(settings.verify);
    expect(raw.secret)
      .to.match(/^enc:v2:/)
      .and.not.include(settings.secret);
    expect(raw.page_access_token)
      .to.match(/^enc:v2:/)
      .and.not.include(settings.page_access_token);
    expect((await store.findById('facebook'))!.settings).to.deep.equal(settings);
  });

  it('reads credentials stored before encryption was turned on as they are', async () => {
    const plain = new InMemoryIntegrationRepository(defaults());
    await edit(plain, 'facebook', { settings: facebookSettings() });
    const store = new InMemoryIntegrationRepository(await plain.storedRecords(), withKey(newKey));
    expect((await store.findById('facebook'))!.settings).to.deep.equal(facebookSettings());
  });

  it('opens what the previous key sealed after a rotation, and seals new writes with the new key', async () => {
    const before = new InMemoryIntegrationRepository(defaults(), withKey(oldKey));
    await edit(before, 'facebook', { settings: facebookSettings() });
    const rotated = new InMemoryIntegrationRepository(await before.storedRecords(), withKey(newKey, [oldKey]));
    expect((await rotated.findById('facebook'))!.settings).to.deep.equal(facebookSettings());
    await edit(rotated, 'facebook', { settings: facebookSettings({ secret: 'rotated-secret' }) });
    const withoutOldKey = new InMemoryIntegrationRepository(await rotated.storedRecords(), withKey(newKey));
    expect((await withoutOldKey.findById('facebook'))!.settings.secret).to.equal('rotated-secret');
  });

  it(
    'without the key, never hands out a sealed value: the read fails as the store being unavailable (503), naming ' +
      'the place',
    async () => {
      const sealedBy = new InMemoryIntegrationRepository(defaults(), withKey(oldKey));
      await edit(sealedBy, 'facebook', { settings: facebookSettings() });
      for (const codec of [withKey(undefined), withKey(newKey)]) {
        const error = await new InMemoryIntegrationRepository(await sealedBy.storedRecords(), codec)
          .findById('facebook')
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(UnreadableCredentialError).and.instanceOf(StoreUnavailableError);
        expect((error as UnreadableCredentialError).place).to.match(/^facebook\/(secret|page_access_token)$/);
      }
    },
  );

  it('lists the records it can open, leaving out one it cannot, which a read by id answers as unreadable', async () => {
    const sealedBy = new InMemoryIntegrationRepository(defaults(), withKey(oldKey));
    await edit(sealedBy, 'facebook', { settings: facebookSettings() });
    const store = new InMemoryIntegrationRepository(await sealedBy.storedRecords(), withKey(newKey));
    expect((await store.list()).map((integration) => integration.id)).to.deep.equal(['chat_widget']);
    expect(await store.findById('facebook').catch((e: unknown) => e)).to.be.instanceOf(UnreadableCredentialError);
  });

  it('never serves a stored value that looks sealed but is not one: the legacy fitting sets it aside', async () => {
    const store = new InMemoryIntegrationRepository(
      [{ id: 'facebook', settings: { verify: 'v', secret: 'enc:v1:this-is-not-sealed', page_access_token: 'EAAB' } }],
      withKey(newKey),
    );
    expect((await store.list())[0]!.settings).to.deep.equal({ verify: 'v', secret: '', page_access_token: 'EAAB' });
  });

  it(
    'opens each sealed value once, however many times the store hands out a new copy of its record (MongoDB does, ' +
      'per read)',
    async () => {
      const codec = withKey(newKey);
      const sealed = codec.toRecord(theDefaults()[0]!.change({ settings: facebookSettings() }, new Date()));
      const open = sinon.spy(codec.cipher, 'open');
      for (let read = 0; read < 100; read += 1)
        expect(codec.toEntity({ ...sealed, settings: { ...sealed.settings } }).settings).to.deep.equal(
          facebookSettings(),
        );
      expect(open.callCount).to.equal(2);
    },
  );
});

describe('CredentialCipher', () => {
  const key = randomBytes(32);

  it('detects a sealed value that was tampered with', () => {
    const cipher = new CredentialCipher(key);
    const sealed = cipher.seal('app-secret', placeOf('facebook', 'secret'));
    // One bit of the ciphertext flipped (the base64url text's last character partly encodes unused bits: changing it
    // alone may change nothing).
    const parts = sealed.split(':');
    const body = Buffer.from(parts.at(-1)!, 'base64url');
    body[0]! ^= 0x01;
    const tampered = [...parts.slice(0, -1), body.toString('base64url')].join(':');
    expect(tampered).to.not.equal(sealed);
    expect(() => cipher.open(tampered, placeOf('facebook', 'secret'))).to.throw(TamperedCredentialError);
  });

  it('binds a sealed value to its record and field: swapped secret and token do not open', async () => {
    const store = new InMemoryIntegrationRepository(defaults(), withKey(key));
    await edit(store, 'facebook', { settings: facebookSettings() });
    const raw = (await store.storedRecords()).find((r) => r.id === 'facebook')!.settings!;
    // Someone with write access to the database swaps the two sealed values.
    const swapped = new InMemoryIntegrationRepository(
      [{ id: 'facebook', settings: { ...raw, secret: raw.page_access_token!, page_access_token: raw.secret! } }],
      withKey(key),
    );
    const error = await swapped.findById('facebook').catch((e: unknown) => e);
    expect(error)
      .to.be.instanceOf(UnreadableCredentialError)
      .with.property('cause')
      .that.is.instanceOf(TamperedCredentialError);
    expect(() => new CredentialCipher(key).open(raw.secret as string, placeOf('chat_widget', 'secret'))).to.throw(
      TamperedCredentialError,
    );
  });

  it('enforces the 16-byte tag: a seal with its tag cut short is never decrypted', () => {
    const cipher = new CredentialCipher(key);
    const parts = cipher.seal('app-secret', 'facebook/secret').split(':');
    parts[4] = Buffer.from(parts[4]!, 'base64url').subarray(0, 4).toString('base64url');
    const cut = parts.join(':');
    expect(parseSealed(cut)).to.equal(null);
    expect(cipher.open(cut, 'facebook/secret')).to.equal(cut).and.not.equal('app-secret');
  });
});

describe('resealing credentials (npm run reseal)', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('goes on past a value it cannot open, reseals the others, and names each it left', async () => {
    const store = new InMemoryIntegrationRepository(defaults());
    await edit(store, 'facebook', { settings: facebookSettings() });
    await resealCredentials(store, new CredentialCipher(oldKey)); // facebook's two values sealed by the old key
    await edit(store, 'chat_widget', { settings: { secret: 'widget-secret' } }); // written after, in plaintext
    const report = await resealCredentials(store, new CredentialCipher(newKey)); // the old key not given
    expect(report.resealed).to.deep.equal(['chat_widget/secret']);
    expect(report.unopened).to.have.length(2);
    expect(report.unopened[0]).to.match(/^facebook\/secret: /);
    expect(report.unopened[1]).to.match(/^facebook\/page_access_token: /);
  });

  it('seals plaintext and re-seals under the current key; a second run changes nothing', async () => {
    const store = new InMemoryIntegrationRepository(defaults());
    await edit(store, 'facebook', { settings: facebookSettings() }); // written before encryption was on
    await edit(store, 'chat_widget', { settings: { secret: 'widget-secret', color: 'red' } });
    const first = await resealCredentials(store, new CredentialCipher(oldKey));
    expect(first.resealed.sort()).to.deep.equal([
      'chat_widget/secret',
      'facebook/page_access_token',
      'facebook/secret',
    ]);
    const sealedByOld = (await store.storedRecords()).find((r) => r.id === 'facebook')!.settings!.secret as string;
    expect(parseSealed(sealedByOld)!.keyId).to.equal(keyId(oldKey));

    const rotated = new CredentialCipher(newKey, [oldKey]);
    expect((await resealCredentials(store, rotated)).resealed).to.have.length(3);
    const again = await resealCredentials(store, rotated);
    expect(again).to.deep.equal({ resealed: [], unchanged: 3, raced: [], unopened: [] });
    // The old key can go: everything opens with the new one alone.
    const opened = new InMemoryIntegrationRepository(await store.storedRecords(), withKey(newKey));
    expect((await opened.findById('facebook'))!.settings).to.deep.equal(facebookSettings());
    expect(await unreadableCredentials(await store.storedRecords(), new CredentialCipher(newKey))).to.equal(null);
  });

  it('is resumable: a value changed under it is reported, not overwritten, and the next run finishes', async () => {
    const store = new InMemoryIntegrationRepository(defaults());
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
    expect((await store.storedRecords()).find((r) => r.id === 'facebook')!.settings).to.deep.include({
      secret: 'written-meanwhile',
    });
    expect((await resealCredentials(store, new CredentialCipher(newKey))).resealed).to.deep.equal(['facebook/secret']);
  });
});

describe('the start-up check of stored credentials', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  async function sealedRecords() {
    const store = new InMemoryIntegrationRepository(defaults(), withKey(oldKey));
    await edit(store, 'facebook', { settings: facebookSettings() });
    return store.storedRecords();
  }

  it('names, in one line, each record and field sealed with a key it was not given, and what to set', async () => {
    const records = await sealedRecords();
    const dropped = (await unreadableCredentials(records, new CredentialCipher(newKey)))!;
    expect(dropped)
      .to.include('facebook/secret')
      .and.include('facebook/page_access_token')
      .and.include(keyId(oldKey))
      .and.include('ENCRYPTION_KEY_PREVIOUS')
      .and.not.include('\n');
    expect(await unreadableCredentials(records, new CredentialCipher(undefined))).to.include('set ENCRYPTION_KEY');
    expect(await unreadableCredentials(records, new CredentialCipher(newKey, [oldKey]))).to.equal(null);
  });

  it(
    'opens every value with its binding: a sealed value moved to another record or field is named, though its key ' +
      'is known',
    async () => {
      const records = await sealedRecords();
      const facebook = records.find((record) => record.id === 'facebook')!;
      const moved = [
        { ...facebook, settings: { ...facebook.settings, secret: facebook.settings!.page_access_token } },
        { id: 'chat_widget', settings: { secret: facebook.settings!.secret } },
      ];
      const problem = (await unreadableCredentials(moved, new CredentialCipher(oldKey)))!;
      expect(problem)
        .to.include('facebook/secret does not open')
        .and.include('chat_widget/secret does not open')
        .and.not.include('page_access_token does not open');
    },
  );
});
