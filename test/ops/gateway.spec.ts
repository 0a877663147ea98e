// The gateway recipe (ops/gateway) run for real: Debian's nginx with that configuration, people signed in from an
// htpasswd file made by `openssl passwd`, in front of a service started with tokens on; the admin UI's calls sent
// through it as the browser sends them (no Authorization header of its own, ever).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { freePort } from '../support/process';
import { startService, type RunningService } from '../support/service';
import { waitFor } from '../support/wait';

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((candidate) => spawnSync(candidate, ['-v']).error === undefined);
const GATEWAY_DIR = path.resolve(__dirname, '../../ops/gateway');
const TEMPLATE = path.join(GATEWAY_DIR, 'templates/default.conf.template');
const GATEWAY_TOKEN = 'gateway-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdefgh';
const SERVER_NAME = 'chatbot.example.test';
const PASSWORD = 'correct horse battery staple';

/** What envsubst with the variable list in the template's header does: those ${NAME}s replaced, nginx's own $vars left
 * alone. */
export function renderTemplate(template: string, env: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) =>
    Object.hasOwn(env, name) ? env[name]! : whole,
  );
}

/** The ${NAME}s the template uses (outside its comments). */
const templateVariables = (): string[] =>
  [
    ...new Set(
      [
        ...readFileSync(TEMPLATE, 'utf8')
          .split('\n')
          .filter((l) => !l.trim().startsWith('#'))
          .join('\n')
          .matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g),
      ].map((m) => m[1]!),
    ),
  ].sort();

/** A stand-in for the chatbot's backend or frontend: answers with what it received. */
function echoServer(name: string): Promise<{ server: Server; port: number; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    // Reads the whole body before answering, as the chatbot's FastAPI backend does: an answer sent while nginx is
    // still sending a large body (the bot import) can reset the connection under it, a 502 now and then.
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          from: name,
          url: req.url,
          host: req.headers.host,
          authorization: req.headers.authorization ?? null,
        }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, seen })),
  );
}

describe('the gateway recipe as shipped', () => {
  it("is rendered by a command naming exactly the variables the template uses, so nginx's own $variables stay", () => {
    const header = readFileSync(TEMPLATE, 'utf8').match(/envsubst '([^']+)'/)![1]!;
    expect(
      header
        .split(' ')
        .map((v) => v.replace(/^\$\{|\}$/g, ''))
        .sort(),
    ).to.deep.equal(templateVariables());
  });

  it(
    "runs in Compose from the nginx image's template directory, with every variable, the htpasswd as a secret, on " +
      'this machine only',
    async () => {
      const { parse } = await import('yaml');
      const compose = parse(readFileSync(path.resolve(__dirname, '../../ops/compose/compose.yaml'), 'utf8'));
      const gateway = compose.services.gateway;
      expect(gateway.image).to.match(/^nginx:1\.(19|[2-9]\d)/);
      expect(gateway.volumes).to.include('../gateway/templates:/etc/nginx/templates:ro');
      expect(Object.keys(gateway.environment).sort()).to.deep.equal(templateVariables());
      expect(String(gateway.environment.INTEGRATIONS_GATEWAY_TOKEN)).to.match(/^\$\{/); // from the environment, never baked in
      expect(gateway.secrets).to.include('gateway_htpasswd');
      expect(gateway.environment.GATEWAY_HTPASSWD_FILE).to.equal('/run/secrets/gateway_htpasswd');
      expect(gateway.ports).to.deep.equal(['${GATEWAY_PUBLISH:-127.0.0.1}:8081:80']);
      // The gateway sends one token; the service's list takes it, or, during a rotation, the new and the old.
      expect(gateway.environment.INTEGRATIONS_GATEWAY_TOKEN).to.equal('${GATEWAY_TOKEN:-}');
      expect(compose.services['integrations-service'].environment.GATEWAY_TOKENS).to.equal(
        '${GATEWAY_TOKENS:-${GATEWAY_TOKEN:-}}',
      );
    },
  );
});

if (!NGINX) {
  process.stdout.write(
    '  [gateway] nginx is not installed: the gateway tests are SKIPPED (apt-get install nginx; .ci/run does)\n',
  );
}

(NGINX ? describe : describe.skip)(
  'the nginx gateway (ops/gateway) in front of the service with tokens on',
  function () {
    this.timeout(30_000);
    let running: RunningService;
    let nginx: ChildProcess;
    let backend: Awaited<ReturnType<typeof echoServer>>;
    let frontend: Awaited<ReturnType<typeof echoServer>>;
    let gateway: string;
    let prefix: string;
    let stderr = '';
    const signedIn = () => ({
      Authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`,
      Host: SERVER_NAME,
    });

    before(async () => {
      running = await startService({ GATEWAY_TOKENS: GATEWAY_TOKEN, ADMIN_TOKENS: ADMIN_TOKEN });
      backend = await echoServer('backend');
      frontend = await echoServer('frontend');
      const port = await freePort();
      gateway = `http://127.0.0.1:${port}`;

      prefix = mkdtempSync(path.join(tmpdir(), 'gateway-'));
      chmodSync(prefix, 0o777);
      for (const dir of ['logs', 'temp']) mkdirSync(path.join(prefix, dir), { mode: 0o777 });
      // An htpasswd line as the README says to make it.
      const hash = spawnSync('openssl', ['passwd', '-apr1', PASSWORD], { encoding: 'utf8' }).stdout.trim();
      expect(hash).to.match(/^\$apr1\$/);
      writeFileSync(path.join(prefix, 'htpasswd'), `alice:${hash}\nbob:${hash}\n`);
      writeFileSync(
        path.join(prefix, 'integrations-gateway.conf'),
        renderTemplate(readFileSync(TEMPLATE, 'utf8'), {
          INTEGRATIONS_UPSTREAM: new URL(running.url).host,
          INTEGRATIONS_GATEWAY_TOKEN: GATEWAY_TOKEN,
          BACKEND_UPSTREAM: `127.0.0.1:${backend.port}`,
          FRONTEND_UPSTREAM: `127.0.0.1:${frontend.port}`,
          GATEWAY_LISTEN: `127.0.0.1:${port}`,
          GATEWAY_SERVER_NAME: SERVER_NAME,
          GATEWAY_HTPASSWD_FILE: path.join(prefix, 'htpasswd'),
        }),
      );
      // The main configuration around it, as the nginx image has one; temp paths inside the prefix (no root needed).
      writeFileSync(
        path.join(prefix, 'nginx.conf'),
        `worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/temp/body;
  proxy_temp_path ${prefix}/temp/proxy;
  fastcgi_temp_path ${prefix}/temp/fastcgi;
  uwsgi_temp_path ${prefix}/temp/uwsgi;
  scgi_temp_path ${prefix}/temp/scgi;
  include ${prefix}/integrations-gateway.conf;
}
`,
      );
      // No `-e stderr` (nginx 1.19.5 and later): the workflow's Ubuntu 22.04 has 1.18.
      nginx = spawn(NGINX!, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      nginx.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor('nginx to answer', () =>
        fetch(`${gateway}/`).then(
          () => true,
          () => false,
        ),
      ).catch((error: Error) => {
        throw new Error(`${error.message}: ${stderr}`);
      });
    });

    after(async () => {
      // Its prefix goes once nginx has gone: until then it may write there.
      const gone =
        nginx && nginx.exitCode === null && nginx.signalCode === null
          ? new Promise((resolve) => nginx!.once('exit', resolve))
          : Promise.resolve();
      nginx?.kill('SIGQUIT');
      backend?.server.close();
      frontend?.server.close();
      await running?.stop();
      await gone;
      if (prefix) rmSync(prefix, { recursive: true, force: true });
    });

    it('asks who you are: no credentials 401, wrong ones 401, for the admin UI, its APIs and the integrations', async () => {
      for (const p of ['/', '/api/admin/integrations/', '/api/intents']) {
        const none = await request(gateway).get(p).set('Host', SERVER_NAME).expect(401);
        expect(none.headers['www-authenticate']).to.match(/^Basic realm=/);
        await request(gateway)
          .get(p)
          .set('Host', SERVER_NAME)
          .set('Authorization', `Basic ${Buffer.from('alice:wrong').toString('base64')}`)
          .expect(401);
        await request(gateway)
          .get(p)
          .set('Host', SERVER_NAME)
          .set('Authorization', `Basic ${Buffer.from('mallory:anything').toString('base64')}`)
          .expect(401);
      }
      expect(
        running.logs().filter((l) => l.msg === 'request' && String(l.path).startsWith('/admin/integrations')),
      ).to.deep.equal([]);
    });

    it(
      'lets a signed-in person list (with the trailing slash), open and save the whole record, as the admin UI ' +
        'does, and the audit names them',
      async () => {
        const list = await request(gateway).get('/api/admin/integrations/').set(signedIn()).expect(200);
        expect(list.body.map((i: { id: string }) => i.id)).to.deep.equal(['chat_widget', 'facebook']);
        const opened = (await request(gateway).get('/api/admin/integrations/facebook').set(signedIn()).expect(200))
          .body;
        const saved = await request(gateway)
          .put('/api/admin/integrations/facebook')
          .set(signedIn())
          .set('X-Forwarded-User', 'mallory') // a browser's own claim, replaced by the gateway
          .set('Authorization', signedIn().Authorization)
          .send({ ...opened, settings: { ...opened.settings, page_access_token: 'EAAB-typed-in-the-ui' } })
          .expect(200);
        expect(saved.body).to.deep.include({ version: opened.version + 1 });
        const audit = running.logs().find((l) => l.msg === 'audit' && l.versionAfter === opened.version + 1)!;
        expect(audit).to.deep.include({ actor: 'alice', clientAddress: '127.0.0.1', integration: 'facebook' });
        expect(audit.tokenLabel).to.match(/^gateway:[0-9a-f]{8}$/);
        expect(JSON.stringify(running.logs()))
          .to.not.include(GATEWAY_TOKEN)
          .and.not.include(PASSWORD)
          .and.not.include('EAAB-typed-in-the-ui');
      },
    );

    it(
      'answers only its own host name: another (a rebound DNS name) gets 421, signed in or not, and nothing ' +
        'reaches the service',
      async () => {
        const before = running.logs().length;
        await request(gateway)
          .get('/api/admin/integrations/facebook')
          .set({ ...signedIn(), Host: 'rebind.attacker.example' })
          .expect(421);
        await request(gateway)
          .get('/api/admin/integrations/facebook')
          .set('Host', `127.0.0.1:${new URL(gateway).port}`)
          .expect(421);
        expect(
          running
            .logs()
            .slice(before)
            .filter((l) => l.msg === 'request'),
        ).to.deep.equal([]);
      },
    );

    it('limits writes per person, not per address: one person past the burst leaves the next with a whole one', async () => {
      const as = (person: string) => ({
        Authorization: `Basic ${Buffer.from(`${person}:${PASSWORD}`).toString('base64')}`,
        Host: SERVER_NAME,
      });
      const alice = await Promise.all(
        Array.from({ length: 100 }, () =>
          request(gateway).patch('/api/admin/integrations/chat_widget').set(as('alice')).send({ status: true }),
        ),
      );
      expect(alice.map((res) => res.status)).to.include(429);
      // Bob, from the same address at once after: none of his first writes is refused.
      const bob = await Promise.all(
        Array.from({ length: 20 }, () =>
          request(gateway).patch('/api/admin/integrations/chat_widget').set(as('bob')).send({ status: false }),
        ),
      );
      expect(bob.map((res) => res.status).filter((status) => status === 429)).to.deep.equal([]);
    });

    it('limits the writes of one client (429 past a burst), never its reads', async () => {
      const writes = await Promise.all(
        Array.from({ length: 100 }, () =>
          request(gateway).patch('/api/admin/integrations/chat_widget').set(signedIn()).send({ status: true }),
        ),
      );
      const statuses = writes.map((res) => res.status);
      expect(statuses).to.include(429);
      expect(statuses.filter((status) => status !== 200 && status !== 429)).to.deep.equal([]);
      const reads = await Promise.all(
        Array.from({ length: 60 }, () => request(gateway).get('/api/admin/integrations/chat_widget').set(signedIn())),
      );
      expect(reads.every((res) => res.status === 200)).to.equal(true);
    });

    it(
      'is the only way to act as a person: the service refuses a name without the gateway token, and a gateway ' +
        'token without a name',
      async () => {
        await request(running.url).get('/admin/integrations/').expect(401);
        await request(running.url).get('/admin/integrations/').set('X-Forwarded-User', 'alice').expect(401);
        await request(running.url)
          .patch('/admin/integrations/facebook')
          .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
          .set('X-Forwarded-User', 'alice')
          .send({ status: false })
          .expect(403);
        await request(running.url)
          .patch('/admin/integrations/facebook')
          .set('Authorization', `Bearer ${GATEWAY_TOKEN}`)
          .send({ status: false })
          .expect(403);
      },
    );

    it('forwards X-Request-Id, or makes one, and the service logs it beside its own request id', async () => {
      const res = await request(gateway)
        .get('/api/admin/integrations/chat_widget')
        .set(signedIn())
        .set('X-Request-Id', 'gateway-trace-1')
        .expect(200);
      expect(
        running.logs().find((l) => l.msg === 'request' && l.requestId === res.headers['x-request-id']),
      ).to.have.property('clientRequestId', 'gateway-trace-1');
      const generated = await request(gateway).get('/api/admin/integrations/chat_widget').set(signedIn()).expect(200);
      expect(
        running.logs().find((l) => l.msg === 'request' && l.requestId === generated.headers['x-request-id'])!
          .clientRequestId,
      ).to.match(/^[0-9a-f]{32}$/);
    });

    it(
      "passes the bot's public endpoints to the backend without sign-in, the rest of /api and / only signed in, as " +
        "the chatbot's nginx does",
      async () => {
        const webhook = await request(gateway)
          .post('/api/bots/channels/facebook/webhook')
          .set('Host', SERVER_NAME)
          .send({})
          .expect(200);
        expect(webhook.body).to.include({
          from: 'backend',
          url: '/bots/channels/facebook/webhook',
          host: SERVER_NAME,
          authorization: null,
        });
        const other = await request(gateway).get('/api/bots/default/config').set('Host', SERVER_NAME).expect(200);
        expect(other.body).to.include({ from: 'backend', url: '/bots/default/config' });
        const intents = await request(gateway).get('/api/intents').set(signedIn()).expect(200);
        expect(intents.body).to.include({ from: 'backend', url: '/intents' });
        const page = await request(gateway).get('/agent/default/integrations').set(signedIn()).expect(200);
        expect(page.body).to.include({ from: 'frontend', url: '/agent/default/integrations' });
      },
    );

    it("keeps the person's password at the gateway: no upstream receives their Authorization header", async () => {
      const api = await request(gateway).get('/api/intents').set(signedIn()).expect(200);
      expect(api.body).to.include({ from: 'backend', authorization: null });
      const page = await request(gateway).get('/agent/default').set(signedIn()).expect(200);
      expect(page.body).to.include({ from: 'frontend', authorization: null });
    });

    it("takes bodies up to 1 MiB, as the chatbot's nginx did (a bot's import), and 64 KiB for the service", async () => {
      const imported = { intents: 'x'.repeat(133 * 1024) };
      const res = await request(gateway).post('/api/bots/default/import').set(signedIn()).send(imported).expect(200);
      expect(res.body).to.include({ from: 'backend' });
      await request(gateway)
        .put('/api/admin/integrations/chat_widget')
        .set(signedIn())
        .send({ name: 'Chat Widget', description: 'x'.repeat(100 * 1024) })
        .expect(413);
    });

    it('runs from the shipped nginx.conf too (nginx -t), the rendered template beside it', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'gateway-shipped-'));
      try {
        copyFileSync(path.join(GATEWAY_DIR, 'nginx.conf'), path.join(dir, 'nginx.conf'));
        copyFileSync(path.join(prefix, 'integrations-gateway.conf'), path.join(dir, 'integrations-gateway.conf'));
        const check = spawnSync(
          NGINX!,
          // As MIGRATION.md runs it: the prefix is the folder holding nginx.conf and the rendered file.
          ['-t', '-p', dir, '-c', 'nginx.conf'],
          { encoding: 'utf8' },
        );
        expect(check.stderr).to.include('syntax is ok');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    // Last: it spends this address's sign-in allowance for a while.
    it('slows password guessing from one address: past a burst, wrong passwords get 429, not another try', async () => {
      const wrong = { Authorization: `Basic ${Buffer.from('alice:guess').toString('base64')}`, Host: SERVER_NAME };
      // In waves of 50 (the test's nginx takes 256 connections at once), as fast as they are answered.
      const guesses: { status: number }[] = [];
      for (let wave = 0; wave < 16; wave += 1) {
        const sent = Array.from({ length: 50 }, () => request(gateway).get('/api/intents').set(wrong));
        guesses.push(...(await Promise.all(sent)));
      }
      const statuses = guesses.map((res) => res.status);
      expect(statuses.filter((status) => status === 429).length).to.be.at.least(300);
      expect(statuses.filter((status) => status !== 401 && status !== 429)).to.deep.equal([]);
    });
  },
);
