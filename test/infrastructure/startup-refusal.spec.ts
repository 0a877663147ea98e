// Faults no retry mends stop the start-up with one line saying why, instead of 500s or ciphertext later.
import { expect } from 'chai';
import request from 'supertest';
import { CredentialCipher, keyId } from '../../src/adapters/persistence/credential-cipher';
import { StartupRefusal } from '../../src/infrastructure/service';
import { startService, testKey, type RunningService } from '../support/service';

describe('start-up refusal', () => {
  let running: RunningService | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  const sealedBy = (key: string) => {
    const cipher = new CredentialCipher(Buffer.from(key, 'base64'));
    return [
      {
        id: 'facebook',
        settings: { verify: 'v', secret: cipher.seal('app-secret', 'facebook/secret'), page_access_token: '' },
      },
    ];
  };

  for (const [title, env] of [
    ['the key that sealed a stored credential was dropped', { ENCRYPTION_KEY: testKey('new') }],
    ['ENCRYPTION_KEY was unset while credentials are sealed', {}],
  ] as const) {
    it(`refuses to start, with one line naming the credential and the key, when ${title}`, async () => {
      running = await startService(env, {
        waitUntilReady: false,
        overrides: { memorySeed: sealedBy(testKey('retired')) },
      });
      const error = await running.service.whenInitialized().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(StartupRefusal);
      expect((error as Error).message)
        .to.include('facebook/secret')
        .and.include(keyId(Buffer.from(testKey('retired'), 'base64')));
      const ready = await request(running.url).get('/readyz').expect(503);
      expect(ready.body.checks).to.deep.include({ store: 'refused' });
      expect(ready.body.checks.reason).to.include('facebook/secret');
      // The API never served the ciphertext, nor a 500: it is not ready, and says why.
      expect(JSON.stringify(ready.body)).to.not.include('enc:v2');
    });
  }

  it('starts when the sealing key is among the previous keys', async () => {
    running = await startService(
      { ENCRYPTION_KEY: testKey('new'), ENCRYPTION_KEY_PREVIOUS: testKey('retired') },
      { overrides: { memorySeed: sealedBy(testKey('retired')) } },
    );
    const res = await request(running.url).get('/integrations/facebook').expect(200);
    expect(res.body.settings.secret).to.equal('app-secret');
  });
});
