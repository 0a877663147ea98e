import { connect } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { startService, type RunningService } from '../support/service';

const ADMIN_UI = 'http://admin.chatbot.local:3000';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const READ_TOKEN = 'read-token-0123456789abcdefgh';

describe('CORS', () => {
  let running: RunningService;
  afterEach(async () => {
    await running.stop();
  });

  it('lets the admin UI on another origin preflight and send its PUT when CORS_ORIGINS=*', async () => {
    running = await startService({ CORS_ORIGINS: '*' });
    const preflight = await request(running.url)
      .options('/admin/integrations/facebook')
      .set('Origin', ADMIN_UI)
      .set('Access-Control-Request-Method', 'PUT')
      .set('Access-Control-Request-Headers', 'content-type,if-match,authorization')
      .expect(204);
    expect(preflight.headers['access-control-allow-origin']).to.equal('*');
    expect(preflight.headers['access-control-allow-methods']).to.include('PUT').and.include('PATCH');
    expect(preflight.headers['access-control-allow-headers'].toLowerCase())
      .to.include('content-type')
      .and.include('if-match')
      .and.include('authorization');

    const put = await request(running.url)
      .put('/admin/integrations/facebook')
      .set('Origin', ADMIN_UI)
      .send({ name: 'n', description: 'd' })
      .expect(200);
    expect(put.headers['access-control-allow-origin']).to.equal('*');
    expect(put.headers['access-control-expose-headers']).to.include('ETag');
  });

  it('allows only the configured origins when CORS_ORIGINS is set', async () => {
    running = await startService({ CORS_ORIGINS: `${ADMIN_UI},https://ops.example.com` });
    const allowed = await request(running.url).get('/admin/integrations/').set('Origin', ADMIN_UI).expect(200);
    expect(allowed.headers['access-control-allow-origin']).to.equal(ADMIN_UI);
    expect(allowed.headers.vary).to.include('Origin');
    const other = await request(running.url)
      .get('/admin/integrations/')
      .set('Origin', 'https://evil.example')
      .expect(200);
    expect(other.headers).to.not.have.property('access-control-allow-origin');
  });

  it('unconfigured, lets no other origin read or write: no CORS headers, the preflight of a write is refused', async () => {
    running = await startService({ CORS_ORIGINS: undefined });
    const preflight = await request(running.url)
      .options('/admin/integrations/facebook')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'PUT')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(preflight.headers).to.not.have.property('access-control-allow-origin');
    expect(preflight.headers).to.not.have.property('access-control-allow-methods');
    const read = await request(running.url)
      .get('/admin/integrations/facebook')
      .set('Origin', 'https://evil.example')
      .expect(200);
    expect(read.headers).to.not.have.property('access-control-allow-origin');
  });

  it('puts CORS headers on error answers too, so the browser can read them', async () => {
    running = await startService({ CORS_ORIGINS: '*' });
    const res = await request(running.url).get('/admin/integrations/nope').set('Origin', ADMIN_UI).expect(404);
    expect(res.headers['access-control-allow-origin']).to.equal('*');
  });

  for (const corsOrigins of [`${ADMIN_UI},https://ops.example.com`, '*']) {
    it(`answers an origin the same whether its CORS headers were remembered or worked out (CORS_ORIGINS=${corsOrigins})`, async () => {
      // The configured origins and the first 64 others a replica sees have the cors package's headers remembered; any
      // later one gets the package run on its request. A browser must not tell the two apart.
      const origins = [ADMIN_UI, 'https://ops.example.com', 'https://evil.example', 'null'];
      const answers = async (service: RunningService, origin: string): Promise<string[][]> => {
        const exchanges = [
          request(service.url).get('/admin/integrations/'),
          request(service.url).get('/integrations/facebook'),
          request(service.url).get('/admin/integrations/nope'),
          request(service.url).put('/admin/integrations/chat_widget').send({ name: 'Chat', description: origin }),
          request(service.url)
            .patch('/admin/integrations/chat_widget')
            .send({ description: 'x'.repeat(70_000) }),
        ];
        const sent = await Promise.all(exchanges.map((exchange) => exchange.set('Origin', origin)));
        // Everything but what differs between any two answers (their date, id, and the record's version and times).
        return sent.map((res) =>
          Object.entries(res.headers as Record<string, string>)
            .filter(([name]) => !['date', 'x-request-id', 'etag', 'content-length'].includes(name))
            .map(([name, value]) => `${res.status} ${name}: ${value}`)
            .sort(),
        );
      };
      const env = { CORS_ORIGINS: corsOrigins };
      running = await startService(env);
      const remembered = await Promise.all(origins.map((origin) => answers(running, origin)));
      await running.stop();

      running = await startService(env);
      for (let i = 0; i < 64; i += 1) await request(running.url).get('/healthz').set('Origin', `https://o${i}.example`);
      const late = await Promise.all(origins.map((origin) => answers(running, origin)));

      expect(late).to.deep.equal(remembered);
      const allowOrigin = corsOrigins === '*' ? '*' : ADMIN_UI;
      expect(remembered[0]![0]).to.include(`200 access-control-allow-origin: ${allowOrigin}`);
      const evilAllowed = remembered[2]![0]!.some((line) => line.includes('allow-origin'));
      expect(evilAllowed).to.equal(corsOrigins === '*');
    });
  }
});

describe('bearer tokens (ADMIN_TOKENS, READ_TOKENS)', () => {
  let running: RunningService;
  const api = () => request(running.url);

  before(async () => {
    running = await startService({ ADMIN_TOKENS: ADMIN_TOKEN, READ_TOKENS: READ_TOKEN, CORS_ORIGINS: ADMIN_UI });
  });

  after(async () => {
    await running.stop();
  });

  it('answers 401 with a Bearer challenge when no token or a wrong one is sent', async () => {
    const res = await api()
      .get('/integrations')
      .expect(401)
      .expect('WWW-Authenticate', /^Bearer realm="integrations-service"/);
    expect(res.body).to.include({ status: 401 });
    await api().get('/integrations/facebook').set('Authorization', 'Bearer not-a-valid-token-at-all').expect(401);
    await api().get('/integrations/facebook').set('Authorization', `Basic ${ADMIN_TOKEN}`).expect(401);
  });

  it('lets a read token read, and refuses it a write with 403 that changes nothing', async () => {
    await api().get('/integrations/facebook').set('Authorization', `Bearer ${READ_TOKEN}`).expect(200);
    await api()
      .patch('/integrations/facebook')
      .set('Authorization', `Bearer ${READ_TOKEN}`)
      .send({ status: true })
      .expect(403);
    await api().post('/integrations/ensure-defaults').set('Authorization', `Bearer ${READ_TOKEN}`).expect(403);
    const res = await api().get('/integrations/facebook').set('Authorization', `Bearer ${READ_TOKEN}`).expect(200);
    expect(res.body.status).to.equal(false);
  });

  it('lets an admin token read and write', async () => {
    await api()
      .patch('/integrations/facebook')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ status: true })
      .expect(200);
    await api().get('/admin/integrations/facebook').set('Authorization', `bearer ${ADMIN_TOKEN}`).expect(200);
  });

  it('keeps probes, metrics, the docs and CORS preflights open', async () => {
    await api().get('/healthz').expect(200);
    await api().get('/readyz').expect(200);
    await api().get('/metrics').expect(200);
    await api().get('/openapi.json').expect(200);
    await api()
      .options('/integrations/facebook')
      .set('Origin', ADMIN_UI)
      .set('Access-Control-Request-Method', 'PUT')
      .expect(204);
  });
});

describe('a gateway naming the signed-in person (GATEWAY_TOKENS, X-Forwarded-User)', () => {
  const GATEWAY = 'gateway-token-for-names-0123456789';
  let running: RunningService;

  before(async () => {
    running = await startService({ GATEWAY_TOKENS: GATEWAY });
  });

  after(async () => {
    await running.stop();
  });

  /** A PATCH as nginx sends it: header values as raw bytes on the wire. */
  const patchNamed = (names: Buffer[], description: string): Promise<{ status: number; requestId: string }> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ description });
      const head = Buffer.concat([
        Buffer.from(
          `PATCH /integrations/chat_widget HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ` +
            `${GATEWAY}\r\nContent-Type: application/json\r\nContent-Length: ` +
            `${Buffer.byteLength(body)}\r\nConnection: close\r\n`,
        ),
        ...names.map((name) => Buffer.concat([Buffer.from('X-Forwarded-User: '), name, Buffer.from('\r\n')])),
        Buffer.from(`\r\n${body}`, 'utf8'),
      ]);
      const socket = connect(Number(new URL(running.url).port), '127.0.0.1', () => socket.write(head));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('end', () =>
        resolve({ status: Number(answer.slice(9, 12)), requestId: /x-request-id: (\S+)/i.exec(answer)?.[1] ?? '' }),
      );
      socket.on('error', reject);
    });
  const audited = (requestId: string) =>
    running.logs().find((line) => line.msg === 'audit' && line.requestId === requestId);

  it('audits a name sent as UTF-8 as it was written (élodie, not Ã©lodie)', async () => {
    const { status, requestId } = await patchNamed([Buffer.from('élodie', 'utf8')], 'saved by élodie');
    expect(status).to.equal(200);
    expect(audited(requestId)).to.include({ actor: 'élodie' });
  });

  it(
    'refuses two X-Forwarded-User headers (Node would join them into "alice, bob") and bytes that are not UTF-8, ' +
      'writing nothing',
    async () => {
      const before = (
        await request(running.url)
          .get('/integrations/chat_widget')
          .set('Authorization', `Bearer ${GATEWAY}`)
          .set('X-Forwarded-User', 'carol')
      ).body.version;
      expect((await patchNamed([Buffer.from('alice'), Buffer.from('bob')], 'two people')).status).to.equal(403);
      expect((await patchNamed([Buffer.from([0x65, 0xe9, 0x6c])], 'latin1 bytes')).status).to.equal(403);
      const after = (
        await request(running.url)
          .get('/integrations/chat_widget')
          .set('Authorization', `Bearer ${GATEWAY}`)
          .set('X-Forwarded-User', 'carol')
      ).body.version;
      expect(after).to.equal(before);
    },
  );

  it('neither versions nor audits a PATCH that changes nothing', async () => {
    const read = await request(running.url)
      .get('/integrations/chat_widget')
      .set('Authorization', `Bearer ${GATEWAY}`)
      .set('X-Forwarded-User', 'carol')
      .expect(200);
    const { status, requestId } = await patchNamed([Buffer.from('carol')], read.body.description);
    expect(status).to.equal(200);
    expect(audited(requestId)).to.equal(undefined);
    const again = await request(running.url)
      .get('/integrations/chat_widget')
      .set('Authorization', `Bearer ${GATEWAY}`)
      .set('X-Forwarded-User', 'carol')
      .expect(200);
    expect(again.body.version).to.equal(read.body.version);
  });
});
