// A GET after a 200 PUT on the same replica never answers the record as it was before that PUT, however
// many PUTs and GETs run at once (the bot runtime reading while the admin UI saves per keystroke).
import { expect } from 'chai';
import request from 'supertest';
import { startService, type RunningService } from '../support/service';

describe('read your writes under a burst', () => {
  let running: RunningService;
  before(async () => {
    running = await startService();
  });
  after(async () => {
    await running.stop();
  });

  it(
    'answers every GET that follows a 200 PUT with that version or a later one, for 40 writers and 200 readers at ' +
      'once',
    async () => {
      const api = () => request(running.url);
      const base = (await api().get('/admin/integrations/chat_widget').expect(200)).body;
      const writers = Array.from({ length: 40 }, async (_, n) => {
        const put = await api()
          .put('/admin/integrations/chat_widget')
          .send({ ...base, settings: { writer: n } })
          .expect(200);
        const written = put.body.version as number;
        const read = await api().get('/admin/integrations/chat_widget').expect(200);
        expect(
          read.body.version,
          `writer ${n} read version ${read.body.version} after writing ${written}`,
        ).to.be.at.least(written);
        return written;
      });
      const readers = Array.from({ length: 200 }, () => api().get('/integrations/chat_widget').expect(200));
      const versions = await Promise.all(writers);
      await Promise.all(readers);
      // Every write applied once, one after another.
      expect([...versions].sort((a, b) => a - b)).to.deep.equal(
        Array.from({ length: 40 }, (_, i) => base.version + 1 + i),
      );
    },
  );
});
