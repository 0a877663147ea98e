// The whole service on a real MongoDB (see test/support/mongo.ts), as production runs it: majority writes and
// reads, the read cache kept true by the change stream, migrations at start on what the old store left, two
// instances over one database. Written to pass on MongoDB 4.4 and 7.0, standalone and replica set: where a
// standalone has no change stream, the test says what it checks instead.
import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import request from 'supertest';
import { INTEGRATIONS_COLLECTION } from '../../src/adapters/persistence/mongo/mongo-integration.repository';
import {
  DUPLICATES_COLLECTION,
  SET_ASIDE_COLLECTION,
  serverKind,
} from '../../src/adapters/persistence/mongo/mongo-migrations';
import { facebookSettings } from '../support/integration.mother';
import { describeWithMongo } from '../support/mongo';
import { startService, type RunningService } from '../support/service';
import { waitFor } from '../support/wait';

const ADMIN = 'mongo-admin-token-0123456789';
const auth = { Authorization: `Bearer ${ADMIN}` };

describeWithMongo('the service on MongoDB', (mongo) => {
  const started: RunningService[] = [];
  const start = async (env: NodeJS.ProcessEnv = {}): Promise<RunningService> => {
    const { uri, dbName } = mongo();
    const running = await startService({ MONGODB_URI: uri, MONGODB_DB: dbName, ADMIN_TOKENS: ADMIN, ...env });
    started.push(running);
    return running;
  };

  afterEach(async () => {
    await Promise.all(started.splice(0).map((running) => running.stop()));
  });

  it(
    "starts on the old store's database (duplicates, no versions, settings: null, extra keys), and the admin UI " +
      'can save every record back',
    async () => {
      const { db } = mongo();
      const first = new ObjectId();
      await db.collection(INTEGRATIONS_COLLECTION).insertMany([
        {
          _id: first,
          id: 'facebook',
          name: 'Facebook Messenger',
          description: 'Connect with Facebook Messenger',
          status: true,
          settings: { verify: 'v', secret: 's', page_access_token: 't', legacy_key: 1 },
        },
        {
          id: 'facebook',
          name: 'Facebook Messenger',
          description: 'a duplicate the old seed made',
          status: false,
          settings: {},
        },
        { id: 'chat_widget', name: 'Chat Widget', settings: null },
      ]);
      const running = await start();
      const list = (await request(running.url).get('/admin/integrations/').set(auth).expect(200)).body as {
        id: string;
        settings: object;
        version: number;
      }[];
      expect(list.map((record) => record.id)).to.deep.equal(['chat_widget', 'facebook']);
      // What the admin UI does: the whole record it read, one setting changed, PUT back.
      for (const record of list) {
        const settings =
          record.id === 'facebook'
            ? { ...record.settings, page_access_token: 'EAAB-new' }
            : { ...record.settings, color: 'red' };
        const saved = await request(running.url)
          .put(`/admin/integrations/${record.id}`)
          .set(auth)
          .send({ ...record, settings })
          .expect(200);
        expect(saved.body.version).to.equal(record.version + 1);
      }
      expect(await db.collection(DUPLICATES_COLLECTION).countDocuments()).to.equal(1);
      expect(await db.collection(SET_ASIDE_COLLECTION).findOne({ _id: first })).to.have.property(
        'integrationId',
        'facebook',
      );
      expect(running.logs().some((line) => line.msg === 'migrations applied')).to.equal(true);
    },
  );

  it('answers every GET that follows a 200 PUT with that version or a later one, under 20 writers and 100 readers', async () => {
    const running = await start();
    const writes = Array.from({ length: 20 }, async (_, n) => {
      const written = await request(running.url)
        .patch('/integrations/chat_widget')
        .set(auth)
        .send({ description: `writer ${n}` })
        .expect(200);
      const read = await request(running.url).get('/integrations/chat_widget').set(auth).expect(200);
      expect(read.body.version).to.be.at.least(written.body.version);
    });
    const reads = Array.from({ length: 100 }, () =>
      request(running.url).get('/integrations/chat_widget').set(auth).expect(200),
    );
    await Promise.all([...writes, ...reads]);
    expect((await request(running.url).get('/integrations/chat_widget').set(auth)).body.version).to.equal(21);
  });

  it(
    'checks If-Match against the store whichever instance answers: the current ETag passes on one, an old one is ' +
      'refused on the other',
    async () => {
      const a = await start({ CACHE_TTL_MS: '60000' });
      const b = await start({ CACHE_TTL_MS: '60000' });
      const read = await request(a.url).get('/integrations/facebook').set(auth).expect(200); // A keeps this in its cache
      const written = await request(b.url)
        .patch('/integrations/facebook')
        .set(auth)
        .set('If-Match', read.headers.etag!)
        .send({ status: true })
        .expect(200);
      await request(a.url)
        .patch('/integrations/facebook')
        .set(auth)
        .set('If-Match', read.headers.etag!)
        .send({ status: false })
        .expect(412);
      await request(a.url)
        .patch('/integrations/facebook')
        .set(auth)
        .set('If-Match', written.headers.etag!)
        .send({ status: false })
        .expect(200);
    },
  );

  it('shows an edit made on one instance, or by the old store, on the other within a second', async () => {
    const { db } = mongo();
    const replicaSet = (await serverKind(db)) !== 'standalone';
    // On a replica set the change stream tells; the TTL is set far out so only the stream can explain it. A
    // standalone has no change stream: the service says so, and its copies expire by CACHE_TTL_MS.
    const ttl = replicaSet ? '60000' : '500';
    const a = await start({ CACHE_TTL_MS: ttl });
    const b = await start({ CACHE_TTL_MS: ttl });
    if (replicaSet)
      await waitFor('the change stream to be live on A', () =>
        a.logs().some((line) => line.msg === 'change stream live'),
      );
    else expect(a.logs().some((line) => String(line.msg).startsWith('MongoDB is a standalone server'))).to.equal(true);
    await request(a.url).get('/integrations/facebook').set(auth).expect(200);

    await request(b.url)
      .patch('/integrations/facebook')
      .set(auth)
      .send({ settings: facebookSettings({ secret: 'rotated' }) })
      .expect(200);
    await waitFor(
      "A to serve B's edit",
      async () => (await request(a.url).get('/integrations/facebook').set(auth)).body.settings?.secret === 'rotated',
      1_000,
    );

    // The old Python store during the move: a plain $set, no version moved.
    await db.collection(INTEGRATIONS_COLLECTION).updateOne({ id: 'facebook' }, { $set: { status: true } });
    await waitFor(
      "A to serve the old store's edit",
      async () => (await request(a.url).get('/integrations/facebook').set(auth)).body.status === true,
      1_000,
    );
  });

  it('opens the change stream again after the server ends it (the collection renamed away and back), and keeps showing edits', async function () {
    const { db } = mongo();
    if ((await serverKind(db)) === 'standalone') this.skip(); // no change streams on a standalone
    const a = await start({ CACHE_TTL_MS: '60000' });
    await waitFor('the change stream to be live', () => a.logs().some((line) => line.msg === 'change stream live'));
    await request(a.url).get('/integrations/facebook').set(auth).expect(200); // cached, trusted while the stream is live
    // A rename ends every change stream on the collection (invalidate); the service opens it again after that event.
    await db.collection(INTEGRATIONS_COLLECTION).rename('integrations_moved');
    await db.collection('integrations_moved').rename(INTEGRATIONS_COLLECTION);
    await waitFor('the stream to be opened again', () =>
      a.logs().some((line) => line.msg === 'change stream opens again' && String(line.reason).includes('invalidate')),
    );
    await waitFor(
      'the stream to be live again',
      () => a.logs().filter((line) => line.msg === 'change stream live').length >= 2,
    );
    // An edit behind the service's back (the old store's): only the reopened stream can explain A serving it.
    await db
      .collection(INTEGRATIONS_COLLECTION)
      .updateOne({ id: 'facebook' }, { $set: { description: 'after the rename' } });
    await waitFor(
      'A to serve the edit',
      async () =>
        (await request(a.url).get('/integrations/facebook').set(auth)).body.description === 'after the rename',
      3_000,
    );
  });
});
