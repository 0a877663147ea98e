// What the composition root wires from configuration, seen from outside.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import type { Store } from '../../src/adapters/persistence/store';
import { STORE } from '../../src/infrastructure/tokens';
import { facebookSettings, storedRecords } from '../support/integration.mother';
import { startService, type RunningService } from '../support/service';

describe('the container', () => {
  let running: RunningService;

  afterEach(async () => {
    await running.stop();
  });

  it('with ENCRYPTION_KEY: the API reads and writes credentials in clear, the store holds them sealed', async () => {
    running = await startService({ ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    const settings = facebookSettings();
    await request(running.url).patch('/integrations/facebook').send({ settings }).expect(200);
    expect((await request(running.url).get('/integrations/facebook').expect(200)).body.settings).to.deep.equal(
      settings,
    );

    const stored = (await storedRecords(running.container.get<Store>(STORE).repository)).find(
      (record) => record.id === 'facebook',
    )!.settings!;
    expect(stored.verify).to.equal(settings.verify);
    expect(stored.secret).to.match(/^enc:v2:/);
    expect(stored.page_access_token).to.match(/^enc:v2:/);
  });

  it('without ENCRYPTION_KEY: credentials are stored as given', async () => {
    running = await startService();
    await request(running.url).patch('/integrations/facebook').send({ settings: facebookSettings() }).expect(200);
    expect(
      (await storedRecords(running.container.get<Store>(STORE).repository)).find((record) => record.id === 'facebook')!
        .settings,
    ).to.deep.equal(facebookSettings());
  });
});
