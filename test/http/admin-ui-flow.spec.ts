// The day the chatbot team points the admin UI and the bot runtime at this service, as one story.
import { expect } from 'chai';
import request from 'supertest';
import { startService, type RunningService } from '../support/service';

const ADMIN_UI = 'http://localhost:3000';

describe('the admin UI and bot runtime, end to end', () => {
  let running: RunningService;

  before(async () => {
    running = await startService({ CORS_ORIGINS: ADMIN_UI });
  });

  after(async () => {
    await running.stop();
  });

  it('lists, opens, edits, toggles and re-seeds, while the bot runtime reads what was acknowledged', async () => {
    const ui = () => request(running.url);
    const bot = () => request(running.url);

    // The integrations page lists from its own origin.
    const list = await ui().get('/admin/integrations/').set('Origin', ADMIN_UI).expect(200);
    expect(list.headers['access-control-allow-origin']).to.equal(ADMIN_UI);
    expect(list.body.map((i: { id: string }) => i.id)).to.deep.equal(['chat_widget', 'facebook']);

    // It opens facebook and saves the whole record back with credentials filled in.
    const opened = (await ui().get('/admin/integrations/facebook').set('Origin', ADMIN_UI).expect(200)).body;
    const credentials = { verify: 'my-verify-token', secret: 'app-secret-1', page_access_token: 'EAAG-token-1' };
    const saved = await ui()
      .put('/admin/integrations/facebook')
      .set('Origin', ADMIN_UI)
      .send({ ...opened, settings: credentials })
      .expect(200);
    expect(saved.body.settings).to.deep.equal(credentials);

    // The bot runtime, on the next Messenger message, sees the new credentials at once.
    expect((await bot().get('/integrations/facebook').expect(200)).body.settings).to.deep.equal(credentials);

    // Typing in a field sends a burst of PUTs, each with the record as the UI last held it.
    const burst = await Promise.all(
      ['E', 'EA', 'EAA', 'EAAG', 'EAAG-final'].map((token) =>
        ui()
          .put('/admin/integrations/facebook')
          .send({ ...opened, settings: { ...credentials, page_access_token: token } }),
      ),
    );
    expect(burst.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200]);
    const afterBurst = (await bot().get('/integrations/facebook').expect(200)).body;
    expect(afterBurst.version).to.equal(saved.body.version + 5);
    expect(burst.map((r) => r.body.settings.page_access_token)).to.include(afterBurst.settings.page_access_token);

    // The toggle turns it on; the bot runtime sees it enabled.
    const toggled = await ui()
      .put('/admin/integrations/facebook')
      .send({ ...afterBurst, status: true })
      .expect(200);
    expect(toggled.body.status).to.equal(true);
    expect((await bot().get('/integrations/facebook').expect(200)).body).to.deep.equal(toggled.body);

    // An unknown id and a bad body are refused and change nothing.
    await ui().get('/admin/integrations/whatsapp').expect(404);
    await ui()
      .put('/admin/integrations/facebook')
      .send({ ...toggled.body, settings: { verify: 'only-one-field' } })
      .expect(422);
    await ui()
      .put('/admin/integrations/facebook')
      .set('Content-Type', 'application/json')
      .send('{"name": ')
      .expect(400);
    expect((await bot().get('/integrations/facebook').expect(200)).body).to.deep.equal(toggled.body);

    // Re-seeding keeps every change the user made.
    expect((await ui().post('/admin/integrations/ensure-defaults').send({}).expect(200)).body).to.deep.equal({
      created: [],
      existing: ['facebook', 'chat_widget'],
    });
    expect((await bot().get('/integrations/facebook').expect(200)).body).to.deep.equal(toggled.body);
  });
});
