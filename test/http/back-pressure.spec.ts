// A client that pipelines reads and never reads the answers (a hostile one, or a broken one) must not make the
// service hold every answer in memory: Node stops reading a connection whose answers are not taken, and the
// service must leave that back-pressure in place. The service runs in its own process, as operators run it, and
// its peak memory is read from /proc after the flood.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import request from 'supertest';
import { type Flood, floodUnread, freePort, peakRssMiB, spawnService, type SpawnedService } from '../support/process';
import { waitFor } from '../support/wait';

// A quarter of the attack (200 x 3,000), so the suite's other tests running beside it cannot decide the
// figure; `npm run bench:flood` runs the whole attack and prints the peaks.
const CONNECTIONS = 50;
const REQUESTS_PER_CONNECTION = 2_000;
// The Kubernetes manifest's memory limit (ops/k8s/deployment.yaml).
const LIMIT_MIB = 256;
const READ = 'pressure-read-token-0123456789';

/** Whether `path` on `url` answers 200 now (within `timeoutMs` when given); false on any other answer or error. */
function answersOk(url: string, path: string, timeoutMs?: number): Promise<boolean> {
  const asked = request(url).get(path);
  return (timeoutMs === undefined ? asked : asked.timeout(timeoutMs)).then(
    (res) => res.status === 200,
    () => false,
  );
}

(process.platform === 'linux' ? describe : describe.skip)('pipelined reads whose answers are never read', function () {
  this.timeout(60_000);
  let service: SpawnedService;
  let port: number;
  let flood: Flood | undefined;

  // A service of its own for each flood: the peak memory read after it is that flood's.
  const startWith = async (tokens: NodeJS.ProcessEnv): Promise<void> => {
    port = await freePort();
    // Warnings only: 100,000 request lines would be the test's own memory, not the service's.
    service = spawnService({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...tokens });
    await waitFor('the service to answer', () => answersOk(`http://127.0.0.1:${port}`, '/healthz'), 20_000, 50);
  };

  afterEach(async () => {
    flood?.leave();
    flood = undefined;
    service.child.kill('SIGTERM');
    await service.exited;
  });

  // The two (its row 1: with tokens, open) are also left by their clients mid-flood.
  for (const [who, tokens, authorization, alsoLeft] of [
    [
      'with tokens configured, the read token sent',
      { READ_TOKENS: READ, ADMIN_TOKENS: 'pressure-admin-token-0123456789' },
      `Authorization: Bearer ${READ}\r\n`,
      true,
    ],
    ['open (no tokens configured)', {}, '', true],
    ['with tokens configured, none sent (401s)', { READ_TOKENS: READ }, '', false],
  ] as const) {
    it(`keeps memory under the Kubernetes limit and answers /healthz after it, ${who}`, async () => {
      await startWith(tokens);
      flood = await floodUnread(port, CONNECTIONS, REQUESTS_PER_CONNECTION, authorization);
      // Node parses what each connection delivered before its back-pressure stops reading: the service works
      // through that (bare node:http takes as long; npm run bench times both), then answers as before.
      await waitFor(
        '/healthz to answer after the flood',
        () => answersOk(`http://127.0.0.1:${port}`, '/healthz', 2_000),
        30_000,
        100,
      );
      expect(peakRssMiB(service.child.pid!), 'peak RSS (MiB)').to.be.below(LIMIT_MIB);
    });

    if (!alsoLeft) continue;
    it(`lives through the flood's clients leaving mid-flood, then answers /healthz, ${who}`, async () => {
      await startWith(tokens);
      flood = await floodUnread(port, CONNECTIONS, REQUESTS_PER_CONNECTION, authorization);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      flood.leave();
      flood = undefined;
      // Node still holds what it read of the connections whose clients reset them: the service must not die of it.
      // The deadline leaves room for the suite's other tests beside it; npm run bench:flood times the whole flood.
      await waitFor(
        '/healthz to answer after the clients left',
        () => answersOk(`http://127.0.0.1:${port}`, '/healthz', 250),
        10_000,
        50,
      );
      expect(service.child.exitCode, 'the service exited').to.equal(null);
      expect(peakRssMiB(service.child.pid!), 'peak RSS (MiB)').to.be.below(LIMIT_MIB);
    });
  }
});

describe('the probe port (PROBE_PORT) while the API port is flooded', function () {
  this.timeout(60_000);
  let service: SpawnedService;
  let flood: Flood | undefined;

  let queued: Flood | undefined;

  afterEach(async () => {
    flood?.leave();
    flood = undefined;
    queued?.leave();
    queued = undefined;
    service.child.kill('SIGTERM');
    await service.exited;
  });

  const start = async (): Promise<{ api: number; probes: number }> => {
    const [api, probes] = [await freePort(), await freePort()];
    // Warnings only: the flood's request lines would be the test's own memory.
    service = spawnService({ PORT: String(api), PROBE_PORT: String(probes), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    return { api, probes };
  };

  it('answers /healthz and /readyz as the API port does, and nothing else', async () => {
    const { probes } = await start();
    const url = `http://127.0.0.1:${probes}`;
    await waitFor('the probe port to report ready', () => answersOk(url, '/readyz'));
    const healthz = await request(url).get('/healthz').expect(200);
    expect(healthz.body).to.deep.equal({ status: 'ok' });
    for (const path of ['/integrations/facebook', '/integrations', '/metrics', '/openapi.json']) {
      const res = await request(url).get(path).expect(404);
      expect(res.type, path).to.equal('application/problem+json');
      expect(res.body.detail, path).to.match(/only \/healthz and \/readyz/);
    }
  });

  it('answers a probe before the flood on the API port is worked through', async () => {
    const { api, probes } = await start();
    await waitFor('the service to answer', () => answersOk(`http://127.0.0.1:${probes}`, '/healthz'));
    flood = await floodUnread(api, CONNECTIONS, REQUESTS_PER_CONNECTION, '');
    // Node accepts one connection per event-loop turn from each listener, and each turn here works through what the
    // flood's connections delivered: a probe sent to the API port waits behind every flood connection queued before
    // it; one sent to the probe port waits for its own listener's next turn. More flood connections, opened while
    // the first ones' turns run, are queued before the probes (Node may have accepted all of the first by now, and a
    // probe with nothing queued before it waits the same turns on either port).
    queued = await floodUnread(api, 20, REQUESTS_PER_CONNECTION, '');
    const order: string[] = [];
    const ask = (port: number, name: string) =>
      request(`http://127.0.0.1:${port}`)
        .get('/healthz')
        .timeout(45_000)
        .then((res) => {
          order.push(name);
          return res.status;
        });
    const statuses = await Promise.all([ask(api, 'API port'), ask(probes, 'probe port')]);
    expect(statuses).to.deep.equal([200, 200]);
    expect(order).to.deep.equal(['probe port', 'API port']);
  });
});

(process.platform === 'linux' ? describe : describe.skip)('the peak memory floods are held to (peakRssMiB)', () => {
  it('is read from a running process, and is none once the process has exited, reaped or not', async () => {
    expect(peakRssMiB(process.pid)).to.be.above(1);
    // bash starts a short sleep, then becomes a long one that never reaps it: a zombie while the long one runs (a
    // server the flood killed, before its parent has waited for it).
    const parent = spawn('bash', ['-c', 'sleep 0.05 & echo $!; exec sleep 10']);
    const [printed] = (await once(parent.stdout, 'data')) as [Buffer];
    const pid = Number(printed.toString().trim());
    await waitFor('the short sleep to exit unreaped', () =>
      /State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8')),
    );
    expect(peakRssMiB(pid)).to.equal(undefined);
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    expect(peakRssMiB(parent.pid!)).to.equal(undefined);
  });
});
