// The HTTP API as the admin UI and the bot runtime use it, against the assembled service.
import { expect } from 'chai';
import request from 'supertest';
import { createAjv } from '../../src/adapters/http/body-validator';
import { integrationSchema } from '../../src/adapters/http/integration.schemas';
import { startService, type RunningService } from '../support/service';
import { facebookSettings } from '../support/integration.mother';
import { REQUEST_ID } from '../../src/adapters/http/request-context';

const validRecord = createAjv().compile(integrationSchema);

describe('integrations API', () => {
  let running: RunningService;
  const api = () => request(running.url);

  beforeEach(async () => {
    running = await startService();
  });

  afterEach(async () => {
    await running.stop();
  });

  for (const prefix of ['/integrations', '/admin/integrations']) {
    describe(`GET ${prefix}`, () => {
      for (const path of [prefix, `${prefix}/`]) {
        it(`lists both defaults sorted by id at ${path}`, async () => {
          const res = await api()
            .get(path)
            .expect(200)
            .expect('Content-Type', /^application\/json/);
          expect(res.body.map((r: { id: string }) => r.id)).to.deep.equal(['chat_widget', 'facebook']);
          for (const record of res.body) expect(validRecord(record), JSON.stringify(validRecord.errors)).to.equal(true);
        });
      }
    });

    describe(`GET ${prefix}/:id`, () => {
      it('answers the record with its version as ETag, with or without a trailing slash', async () => {
        for (const path of [`${prefix}/facebook`, `${prefix}/facebook/`]) {
          const res = await api().get(path).expect(200).expect('ETag', '"1"');
          expect(res.body).to.deep.include({
            id: 'facebook',
            name: 'Facebook Messenger',
            description: 'Connect with Facebook Messenger',
            status: false,
            settings: { verify: 'ai-chatbot-framework', secret: '', page_access_token: '' },
            version: 1,
          });
          expect(validRecord(res.body)).to.equal(true);
        }
      });

      it('answers 404 problem+json for an unknown id', async () => {
        const res = await api()
          .get(`${prefix}/telegram`)
          .expect(404)
          .expect('Content-Type', /^application\/problem\+json/);
        expect(res.body).to.include({
          status: 404,
          title: 'Integration not found',
          type: 'urn:problem-type:integrations-service:integration-not-found',
          instance: `${prefix}/telegram`,
        });
        expect(res.body.type).to.be.a('string');
        expect(res.body.detail).to.include('telegram');
      });
    });
  }

  describe('conditional requests', () => {
    it('answers 304 with no body to a GET whose If-None-Match holds the current ETag, weak or strong', async () => {
      for (const tag of ['"1"', 'W/"1"', '"7", "1"', '*']) {
        const res = await api().get('/integrations/facebook').set('If-None-Match', tag).expect(304);
        expect(res.text).to.equal('');
        expect(res.headers.etag).to.equal('"1"');
      }
    });

    it('answers 200 to a GET whose If-None-Match holds an old ETag', async () => {
      await api().patch('/integrations/facebook').send({ status: true }).expect(200);
      await api().get('/integrations/facebook').set('If-None-Match', '"1"').expect(200).expect('ETag', '"2"');
    });

    it('writes when If-Match holds the current ETag, and answers the new one', async () => {
      const res = await api()
        .patch('/integrations/facebook')
        .set('If-Match', '"1"')
        .send({ status: true })
        .expect(200)
        .expect('ETag', '"2"');
      expect(res.body).to.include({ status: true, version: 2 });
    });

    it('refuses a stale If-Match with 412 problem+json and changes nothing', async () => {
      await api().patch('/integrations/facebook').send({ description: 'first writer' }).expect(200);
      const res = await api()
        .put('/integrations/facebook')
        .set('If-Match', '"1"')
        .send({ name: 'Second writer', description: 'lost update' })
        .expect(412)
        .expect('Content-Type', /^application\/problem\+json/);
      expect(res.body).to.include({ status: 412 });
      const after = await api().get('/integrations/facebook').expect(200);
      expect(after.body).to.include({ description: 'first writer', name: 'Facebook Messenger', version: 2 });
    });

    it(
      'treats a weak or unknown If-Match tag as not matching (412), a malformed one as a bad request (400), and * ' +
        'as matching any version',
      async () => {
        await api().patch('/integrations/facebook').set('If-Match', 'W/"1"').send({ status: true }).expect(412);
        await api().patch('/integrations/facebook').set('If-Match', '"abc"').send({ status: true }).expect(412);
        await api().patch('/integrations/facebook').set('If-Match', 'garbage').send({ status: true }).expect(400);
        await api()
          .patch('/integrations/facebook')
          .set('If-Match', '*')
          .send({ status: true })
          .expect(200)
          .expect('ETag', '"2"');
      },
    );

    it('accepts an If-Match list that holds the current ETag', async () => {
      await api().patch('/integrations/facebook').set('If-Match', '"5", "1"').send({ status: true }).expect(200);
      await api().patch('/integrations/facebook').set('If-Match', '"5", "1"').send({ status: false }).expect(412);
    });
  });

  describe('PUT /integrations/:id (the admin UI sends back the whole record it read)', () => {
    it('accepts the record as read, spread with new settings, ignoring version and timestamps', async () => {
      const read = (await api().get('/admin/integrations/facebook').expect(200)).body;
      const sent = {
        ...read,
        settings: facebookSettings(),
        version: 99,
        createdAt: '1999-01-01T00:00:00Z',
        updatedAt: 'not even a date',
      };
      const res = await api().put('/admin/integrations/facebook').send(sent).expect(200).expect('ETag', '"2"');
      const { updatedAt: _readAt, ...unchanged } = read;
      expect(res.body).to.deep.include({ ...unchanged, settings: facebookSettings(), version: 2 });
      expect(Date.parse(res.body.updatedAt)).to.be.at.least(Date.parse(read.updatedAt));
      expect((await api().get('/integrations/facebook').expect(200)).body).to.deep.equal(res.body);
    });

    it('keeps status and settings as they are when the body leaves them out', async () => {
      await api().patch('/integrations/facebook').send({ status: true, settings: facebookSettings() }).expect(200);
      const res = await api()
        .put('/integrations/facebook')
        .send({ name: 'Messenger', description: 'Ours' })
        .expect(200);
      expect(res.body).to.include({ name: 'Messenger', description: 'Ours', status: true });
      expect(res.body.settings).to.deep.equal(facebookSettings());
    });

    it('requires name and description (422 naming each)', async () => {
      const res = await api().put('/integrations/facebook').send({ status: true }).expect(422);
      expect(res.body.errors).to.deep.include.members([
        { field: '/name', message: 'is required' },
        { field: '/description', message: 'is required' },
      ]);
    });

    it('never creates: an unknown id is 404 and the list is unchanged', async () => {
      await api().put('/integrations/telegram').send({ name: 'Telegram', description: '' }).expect(404);
      await api().patch('/integrations/telegram').send({ status: true }).expect(404);
      const list = await api().get('/integrations').expect(200);
      expect(list.body.map((r: { id: string }) => r.id)).to.deep.equal(['chat_widget', 'facebook']);
    });

    it('refuses an id in the body that differs from the path (422) and accepts the same id', async () => {
      const res = await api()
        .put('/integrations/facebook')
        .send({ id: 'chat_widget', name: 'n', description: 'd' })
        .expect(422);
      expect(res.body.errors).to.deep.equal([
        { field: '/id', message: 'must equal the id in the path ("facebook"); an id never changes' },
      ]);
      await api().put('/integrations/facebook').send({ id: 'facebook', name: 'n', description: 'd' }).expect(200);
    });

    it('answers all of 10 concurrent PUTs with 200, applying each once, duplicating nothing', async () => {
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, n) =>
          api()
            .put('/admin/integrations/chat_widget')
            .send({ name: 'Chat Widget', description: `keystroke ${n}`, settings: { n } }),
        ),
      );
      expect(responses.map((r) => r.status)).to.deep.equal(Array(10).fill(200));
      expect(responses.map((r) => r.body.version).sort((a: number, b: number) => a - b)).to.deep.equal([
        2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
      ]);
      const list = (await api().get('/integrations').expect(200)).body as { id: string; version: number }[];
      expect(list.map((r) => r.id)).to.deep.equal(['chat_widget', 'facebook']);
      expect(list[0].version).to.equal(11);
    });
  });

  describe('PATCH /integrations/:id', () => {
    it('changes only the fields present', async () => {
      const res = await api().patch('/integrations/chat_widget').send({ status: false }).expect(200);
      expect(res.body).to.include({
        name: 'Chat Widget',
        description: 'Add a chat widget to your website',
        status: false,
        version: 2,
      });
    });

    it('replaces the whole settings object when settings are present', async () => {
      await api()
        .patch('/integrations/chat_widget')
        .send({ settings: { color: 'red', position: 'left' } })
        .expect(200);
      const res = await api()
        .patch('/integrations/chat_widget')
        .send({ settings: { color: 'blue' } })
        .expect(200);
      expect(res.body.settings).to.deep.equal({ color: 'blue' });
    });

    it('takes a name and a description at their limits in characters, an emoji counting one', async () => {
      const edit = { name: '😀'.repeat(100), description: 'é😀'.repeat(250) };
      const res = await api().patch('/admin/integrations/chat_widget').send(edit).expect(200);
      expect(res.body).to.include(edit);
      expect((await api().get('/integrations/chat_widget').expect(200)).body).to.include(edit);
      const over = await api()
        .patch('/admin/integrations/chat_widget')
        .send({ description: `${edit.description}!` })
        .expect(422);
      expect(over.body.errors).to.deep.equal([
        { field: '/description', message: 'must be at most 500 characters long' },
      ]);
    });

    it('answers an empty patch with the record unchanged, at the same version', async () => {
      const res = await api().patch('/integrations/facebook').send({}).expect(200).expect('ETag', '"1"');
      expect(res.body.version).to.equal(1);
    });
  });

  describe('the bytes of a record', () => {
    /** An answer as bytes, as they came over the wire. */
    async function bytesOf(path: string): Promise<{ length: number; bytes: Buffer }> {
      const res = await fetch(`${running.url}${path}`);
      expect(res.status, path).to.equal(200);
      return { length: Number(res.headers.get('content-length')), bytes: Buffer.from(await res.arrayBuffer()) };
    }

    it('are its JSON in UTF-8, Content-Length counting them, whether it is all ASCII or not, on the read and the list', async () => {
      // Accents, a symbol outside Latin-1, an emoji (a surrogate pair in JavaScript), and the characters JSON escapes.
      const name = 'Café ☕ chat 💬 "quoted" \\ back';
      const settings = { greeting: 'Grüß Gott', color: 'blue' };
      await api().patch('/integrations/chat_widget').send({ name, settings }).expect(200);
      for (const path of ['/integrations/chat_widget', '/integrations/facebook', '/integrations']) {
        const { length, bytes } = await bytesOf(path);
        expect(bytes.length, path).to.equal(length);
        const text = bytes.toString('utf8');
        // Valid UTF-8: decoding and encoding again gives the same bytes.
        expect(Buffer.from(text, 'utf8').equals(bytes), path).to.equal(true);
        const records = ([] as { id: string; name: string; settings: unknown }[]).concat(JSON.parse(text));
        const widget = records.find((record) => record.id === 'chat_widget');
        if (path !== '/integrations/facebook') expect(widget, path).to.deep.include({ name, settings });
      }
    });
  });

  describe('POST /integrations/ensure-defaults', () => {
    it('reports the defaults as existing and keeps what the user changed', async () => {
      await api().patch('/integrations/facebook').send({ status: true, settings: facebookSettings() }).expect(200);
      for (const prefix of ['/integrations', '/admin/integrations']) {
        const res = await api().post(`${prefix}/ensure-defaults`).send({}).expect(200);
        expect(res.body).to.deep.equal({ created: [], existing: ['facebook', 'chat_widget'] });
      }
      const facebook = (await api().get('/integrations/facebook').expect(200)).body;
      expect(facebook).to.deep.include({ status: true, settings: facebookSettings(), version: 2 });
    });
  });

  describe('routes and methods that do not exist', () => {
    it('answers 405 with Allow for a method a route does not take', async () => {
      const res = await api().delete('/integrations/facebook').expect(405).expect('Allow', 'GET, HEAD, PUT, PATCH');
      expect(res.body).to.include({ status: 405 });
      await api().get('/integrations/ensure-defaults').expect(405).expect('Allow', 'POST');
      await api().post('/integrations').send({}).expect(405);
    });

    it(
      'answers 404 problem+json for an unknown path, of another type than a missing record, so a client can tell a ' +
        'wrong URL',
      async () => {
        const res = await api()
          .get('/nope')
          .expect(404)
          .expect('Content-Type', /^application\/problem\+json/);
        expect(res.body).to.include({ status: 404, type: 'urn:problem-type:integrations-service:no-route' });
      },
    );

    it(
      'refuses a POST of ensure-defaults without a JSON body (what a form on another site sends) with 415, and ' +
        'creates nothing',
      async () => {
        await api().post('/integrations/ensure-defaults').set('Content-Type', 'text/plain').send('x').expect(415);
        await api()
          .post('/integrations/ensure-defaults')
          .set('Content-Type', 'application/x-www-form-urlencoded')
          .send('a=1')
          .expect(415);
        await api().post('/integrations/ensure-defaults').expect(415);
      },
    );
  });

  describe('request ids', () => {
    it(
      "answers with its own request id always, in the header and in problem bodies, and logs a client's " +
        'X-Request-Id beside it',
      async () => {
        const res = await api().get('/integrations/unknown').set('X-Request-Id', 'admin-ui-42').expect(404);
        expect(res.headers['x-request-id']).to.match(REQUEST_ID);
        expect(res.body.requestId).to.equal(res.headers['x-request-id']);
        const line = running.logs().find((l) => l.msg === 'request' && l.requestId === res.headers['x-request-id']);
        expect(line).to.deep.include({ clientRequestId: 'admin-ui-42', status: 404 });
        // Two requests sending the same client id are still two request ids.
        const again = await api().get('/integrations/unknown').set('X-Request-Id', 'admin-ui-42').expect(404);
        expect(again.headers['x-request-id']).to.not.equal(res.headers['x-request-id']);
      },
    );

    it('does not log a client request id that could forge log lines', async () => {
      const res = await api()
        .get('/integrations')
        .set('X-Request-Id', `${'x'.repeat(200)}`)
        .expect(200);
      const line = running.logs().find((l) => l.msg === 'request' && l.requestId === res.headers['x-request-id']);
      expect(line).to.not.have.property('clientRequestId');
    });
  });
});
