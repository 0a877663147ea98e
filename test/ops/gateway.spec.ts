// The gateway recipe (ops/gateway) run for real: Debian's nginx with that configuration in front of a
// service started with tokens on, and the admin UI's calls sent through it from another origin, as the
// browser sends them (no Authorization header, ever).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { startService, type RunningService } from '../support/service';
import { waitFor } from '../support/wait';

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((candidate) => spawnSync(candidate, ['-v']).error === undefined);
const TEMPLATE = path.resolve(__dirname, '../../ops/gateway/templates/default.conf.template');
const ADMIN_TOKEN = 'gateway-admin-token-0123456789abcdef';
const ADMIN_UI = 'http://chatbot-admin.local:3000';

/** What the nginx image's envsubst step does: ${NAME} replaced for the names given, nginx's own $vars left alone. */
export function renderTemplate(template: string, env: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) => (Object.hasOwn(env, name) ? env[name] : whole));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A stand-in for the chatbot's backend or frontend: answers with what it received. */
function echoServer(name: string): Promise<{ server: Server; port: number; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ from: name, url: req.url, authorization: req.headers.authorization ?? null }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, seen })));
}

describe('the gateway recipe as Compose wires it', () => {
  it('runs the nginx image with the template directory and every variable the template names', async () => {
    const { parse } = await import('yaml');
    const compose = parse(readFileSync(path.resolve(__dirname, '../../ops/compose/compose.yaml'), 'utf8'));
    const gatewayService = compose.services.gateway;
    expect(gatewayService.image).to.match(/^nginx:/);
    expect(gatewayService.volumes).to.include('../gateway/templates:/etc/nginx/templates:ro');
    const named = new Set([...readFileSync(TEMPLATE, 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]));
    expect(Object.keys(gatewayService.environment).sort()).to.deep.equal([...named].sort());
    expect(String(gatewayService.environment.INTEGRATIONS_ADMIN_TOKEN)).to.match(/^\$\{/); // from the environment, never baked in
  });
});

if (!NGINX) {
  process.stdout.write('  [gateway] nginx is not installed: the gateway test is SKIPPED (apt-get install nginx; .ci/run does)\n');
}

(NGINX ? describe : describe.skip)('the nginx gateway (ops/gateway) in front of the service with tokens on', function () {
  this.timeout(30_000);
  let running: RunningService;
  let nginx: ChildProcess;
  let backend: Awaited<ReturnType<typeof echoServer>>;
  let frontend: Awaited<ReturnType<typeof echoServer>>;
  let gateway: string;
  let stderr = '';

  before(async () => {
    running = await startService({ ADMIN_TOKENS: ADMIN_TOKEN, CORS_ORIGINS: ADMIN_UI });
    backend = await echoServer('backend');
    frontend = await echoServer('frontend');
    const port = await freePort();
    gateway = `http://127.0.0.1:${port}`;

    const prefix = mkdtempSync(path.join(tmpdir(), 'gateway-'));
    chmodSync(prefix, 0o777);
    for (const dir of ['logs', 'temp']) mkdirSync(path.join(prefix, dir), { mode: 0o777 });
    writeFileSync(
      path.join(prefix, 'default.conf'),
      renderTemplate(readFileSync(TEMPLATE, 'utf8'), {
        INTEGRATIONS_UPSTREAM: new URL(running.url).host,
        INTEGRATIONS_ADMIN_TOKEN: ADMIN_TOKEN,
        BACKEND_UPSTREAM: `127.0.0.1:${backend.port}`,
        FRONTEND_UPSTREAM: `127.0.0.1:${frontend.port}`,
        GATEWAY_PORT: `127.0.0.1:${port}`,
      }),
    );
    // The main configuration around it, as the nginx image has one; temp paths inside the prefix.
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
  include ${prefix}/default.conf;
}
`,
    );
    nginx = spawn(NGINX!, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor('nginx to answer', () => fetch(`${gateway}/`).then(() => true, () => false)).catch((error: Error) => {
      throw new Error(`${error.message}: ${stderr}`);
    });
  });

  after(async () => {
    nginx?.kill('SIGQUIT');
    backend?.server.close();
    frontend?.server.close();
    await running?.stop();
  });

  it('lets the admin UI list (with the trailing slash), open, save the whole record and preflight, all 2xx', async () => {
    const preflight = await request(gateway)
      .options('/api/admin/integrations/facebook')
      .set('Origin', ADMIN_UI)
      .set('Access-Control-Request-Method', 'PUT')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(preflight.status).to.be.within(200, 299);
    expect(preflight.headers['access-control-allow-origin']).to.equal(ADMIN_UI);

    const list = await request(gateway).get('/api/admin/integrations/').set('Origin', ADMIN_UI).expect(200);
    expect(list.headers['access-control-allow-origin']).to.equal(ADMIN_UI);
    expect(list.body.map((i: { id: string }) => i.id)).to.deep.equal(['chat_widget', 'facebook']);

    const opened = (await request(gateway).get('/api/admin/integrations/facebook').set('Origin', ADMIN_UI).expect(200)).body;
    const saved = await request(gateway)
      .put('/api/admin/integrations/facebook')
      .set('Origin', ADMIN_UI)
      .send({ ...opened, settings: { ...opened.settings, page_access_token: 'EAAB-typed-in-the-ui' } })
      .expect(200);
    expect(saved.body).to.deep.include({ version: opened.version + 1 });
    expect(saved.body.settings.page_access_token).to.equal('EAAB-typed-in-the-ui');
    // The audit line names the gateway's token by its label.
    expect(running.logs().some((l) => l.msg === 'audit' && String(l.actor).startsWith('admin:'))).to.equal(true);
  });

  it('still refuses a call that bypasses the gateway (401), and replaces whatever Authorization a browser sends', async () => {
    await request(running.url).get('/admin/integrations/').expect(401);
    await request(running.url).put('/admin/integrations/facebook').send({ name: 'n', description: 'd' }).expect(401);
    await request(gateway).get('/api/admin/integrations/facebook').set('Authorization', 'Bearer forged-by-the-browser').expect(200);
  });

  it('forwards X-Request-Id, or makes one, and the service logs it beside its own request id', async () => {
    const res = await request(gateway).get('/api/admin/integrations/chat_widget').set('X-Request-Id', 'gateway-trace-1').expect(200);
    expect(running.logs().find((l) => l.msg === 'request' && l.requestId === res.headers['x-request-id'])).to.have.property('clientRequestId', 'gateway-trace-1');
    const generated = await request(gateway).get('/api/admin/integrations/chat_widget').expect(200);
    expect(running.logs().find((l) => l.msg === 'request' && l.requestId === generated.headers['x-request-id'])!.clientRequestId).to.match(/^[0-9a-f]{32}$/);
  });

  it('passes the rest of /api to the chatbot backend (prefix stripped, no token added) and / to the frontend', async () => {
    const other = await request(gateway).get('/api/bots/default/config').expect(200);
    expect(other.body).to.deep.equal({ from: 'backend', url: '/bots/default/config', authorization: null });
    const page = await request(gateway).get('/agent/default/integrations').expect(200);
    expect(page.body).to.include({ from: 'frontend', url: '/agent/default/integrations' });
  });
});
