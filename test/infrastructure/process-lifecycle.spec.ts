// The life of the process, tested by spawning it: configuration refused before anything listens,
// and a graceful stop on SIGTERM/SIGINT that lets requests in flight finish.
import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import { logLines, spawnService, type SpawnedService } from '../support/process';
import { waitFor } from '../support/wait';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * A PUT whose body arrives slowly. `started` resolves once the service has read its headers (it answers
 * `100 Continue` then): from there the request is in flight until `finish()`.
 */
function slowPut(port: number, body: string) {
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'PUT',
    path: '/admin/integrations/chat_widget',
    agent: false,
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Expect: '100-continue' },
  });
  const started = new Promise<void>((resolve) =>
    req.once('continue', () => {
      req.write(body.slice(0, 10));
      resolve();
    }),
  );
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => undefined);
  req.flushHeaders();
  return { started, response, finish: () => req.end(body.slice(10)) };
}

/** Resolves with the log lines once one says `msg`. */
function logged(running: SpawnedService, msg: string) {
  return waitFor(`the log line "${msg}"`, () => {
    const lines = logLines(running.stdout());
    return lines.some((l) => l.msg === msg) && lines;
  });
}

describe('the process', function () {
  this.timeout(30_000);
  let running: SpawnedService | undefined;

  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = undefined;
  });

  describe('refuses a bad configuration before anything listens', () => {
    it('exits 1 with one clear line per problem', async () => {
      running = spawnService({ MONGO_MAX_POOL_SIZE: 'lots', PORT: '99999', LOG_LEVEL: 'verbose' });
      expect(await running.exited).to.equal(1);
      expect(running.stderr().trim().split('\n')).to.deep.equal([
        'config error: LOG_LEVEL: Value "verbose" not in choices [error,warn,info,debug]',
        'config error: MONGO_MAX_POOL_SIZE: must be a whole number from 1 to 1000 (got "lots")',
        'config error: PORT: must be a whole number from 0 to 65535 (got "99999")',
      ]);
      expect(running.stdout()).to.not.include('listening');
    });

    it('exits 1 in production without MONGODB_URI or tokens, saying what to set', async () => {
      running = spawnService({ NODE_ENV: 'production' });
      expect(await running.exited).to.equal(1);
      expect(running.stderr().trim().split('\n')).to.deep.equal([
        'config error: MONGODB_URI: is required when NODE_ENV=production (the in-memory store keeps nothing)',
        'config error: ADMIN_TOKENS: is required when NODE_ENV=production; set AUTH_DISABLED=true to run open on ' +
          'purpose',
      ]);
    });

    it('exits 1 on an encryption key that is not 32 bytes of base64, without echoing it', async () => {
      running = spawnService({ ENCRYPTION_KEY: 'c2hvcnQta2V5' });
      expect(await running.exited).to.equal(1);
      expect(running.stderr())
        .to.include('config error: ENCRYPTION_KEY: must be 32 bytes, base64-encoded')
        .and.not.include('c2hvcnQta2V5');
    });
  });

  it('starts with no environment on the in-memory store, warns that nothing is kept, and serves the defaults', async () => {
    running = spawnService({ PORT: '0', HOST: '127.0.0.1' });
    const port = await running.listening;
    const warning = (await logged(running, 'ready')).find(
      (l) => l.level === 'warn' && String(l.msg).includes('in-memory'),
    );
    expect(warning!.msg).to.include('nothing is kept');
    const list = await get(port, '/integrations');
    expect(JSON.parse(list.body).map((i: { id: string }) => i.id)).to.deep.equal(['chat_widget', 'facebook']);
    expect((await get(port, '/readyz')).status).to.equal(200);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}: stops accepting, lets the request in flight finish, exits 0`, async () => {
      running = spawnService({ PORT: '0', HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '5000' });
      const port = await running.listening;
      const slow = slowPut(
        port,
        JSON.stringify({ name: 'Chat Widget', description: 'saved during shutdown', settings: {} }),
      );
      await slow.started;

      running.child.kill(signal);
      await logged(running, 'stopping');
      expect(await canConnect(port), 'new connections are refused').to.equal(false);
      expect(running.child.exitCode, 'still draining').to.equal(null);

      slow.finish();
      const response = await slow.response;
      expect(response.status).to.equal(200);
      expect(JSON.parse(response.body)).to.include({ description: 'saved during shutdown', version: 2 });
      expect(await running.exited).to.equal(0);
      const messages = logLines(running.stdout()).map((l) => l.msg);
      expect(messages).to.include.members(['stopping', 'stopped']);
      expect(messages.indexOf('stopping')).to.be.below(messages.lastIndexOf('request'));
    });
  }

  it('cuts a request that outlives SHUTDOWN_GRACE_MS and still exits 0', async () => {
    running = spawnService({ PORT: '0', HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '200' });
    const port = await running.listening;
    const slow = slowPut(port, JSON.stringify({ name: 'n', description: 'never finished' }));
    await slow.started;
    running.child.kill('SIGTERM');
    expect(await running.exited).to.equal(0);
    expect(
      await slow.response.then(
        () => 'answered',
        () => 'cut',
      ),
    ).to.equal('cut');
    expect(
      logLines(running.stdout()).some((l) => l.msg === 'grace period over: cut the requests still in flight'),
    ).to.equal(true);
  });

  for (const kind of ['rejection', 'exception'] as const) {
    it(`on an unhandled ${kind}: logs it with one err shape, stops gracefully, exits 1`, async () => {
      running = spawnService({ PORT: '0', HOST: '127.0.0.1', FAULT_KIND: kind, SHUTDOWN_GRACE_MS: '1000' }, [
        './test/support/fault-later.mjs',
      ]);
      await running.listening;
      await logged(running, 'ready');
      running.child.kill('SIGUSR2');
      expect(await running.exited).to.equal(1);
      const lines = logLines(running.stdout());
      const crash = lines.find(
        (l) => l.msg === (kind === 'rejection' ? 'unhandled promise rejection' : 'uncaught exception'),
      );
      expect(crash, running.stdout()).to.not.equal(undefined);
      expect(crash!.err)
        .to.include({ name: 'Error' })
        .and.have.property('message')
        .that.matches(/nobody awaited|threw/);
      expect(lines.map((l) => l.msg)).to.include.members(['stopping', 'stopped']);
    });
  }
});
