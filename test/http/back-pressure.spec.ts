// A client that pipelines reads and never reads the answers (a hostile one, or a broken one) must not make the
// service hold every answer in memory: Node stops reading a connection whose answers are not taken, and the
// service must leave that back-pressure in place. The service runs in its own process, as operators run it, and
// its peak memory is read from /proc after the flood.
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { freePort, peakRssMiB, spawnService, type SpawnedService } from '../support/process';
import { waitFor } from '../support/wait';

// A quarter of the attack (200 x 3,000), so the suite's other tests running beside it cannot decide the
// figure; `npm run bench:flood` runs the whole attack and prints the peaks.
const CONNECTIONS = 50;
const REQUESTS_PER_CONNECTION = 2_000;
// The Kubernetes manifest's memory limit (ops/k8s/deployment.yaml).
const LIMIT_MIB = 256;
const READ = 'pressure-read-token-0123456789';

(process.platform === 'linux' ? describe : describe.skip)('pipelined reads whose answers are never read', function () {
  this.timeout(60_000);
  let service: SpawnedService;
  let port: number;
  let sockets: Socket[] = [];

  // A service of its own for each flood: the peak memory read after it is that flood's.
  const startWith = async (tokens: NodeJS.ProcessEnv): Promise<void> => {
    port = await freePort();
    // Warnings only: 100,000 request lines would be the test's own memory, not the service's.
    service = spawnService({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...tokens });
    await waitFor(
      'the service to answer',
      () =>
        request(`http://127.0.0.1:${port}`)
          .get('/healthz')
          .then(
            (res) => res.status === 200,
            () => false,
          ),
      20_000,
      50,
    );
  };

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    sockets = [];
    service.child.kill('SIGTERM');
    await service.exited;
  });

  for (const [who, tokens, authorization] of [
    [
      'with tokens configured, the read token sent',
      { READ_TOKENS: READ, ADMIN_TOKENS: 'pressure-admin-token-0123456789' },
      `Authorization: Bearer ${READ}\r\n`,
    ],
    ['open (no tokens configured)', {}, ''],
    ['with tokens configured, none sent (401s)', { READ_TOKENS: READ }, ''],
  ] as const) {
    it(`keeps memory under the Kubernetes limit and answers /healthz after it, ${who}`, async () => {
      await startWith(tokens);
      const one = `GET /integrations/facebook HTTP/1.1\r\nHost: 127.0.0.1\r\n${authorization}\r\n`;
      const flood = one.repeat(REQUESTS_PER_CONNECTION);
      for (let i = 0; i < CONNECTIONS; i += 1) {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.pause(); // never reads an answer
        socket.write(flood);
        sockets.push(socket);
      }
      // Node parses what each connection delivered before its back-pressure stops reading: the service works
      // through that (bare node:http takes as long; npm run bench times both), then answers as before.
      await waitFor(
        '/healthz to answer after the flood',
        () =>
          request(`http://127.0.0.1:${port}`)
            .get('/healthz')
            .timeout(2_000)
            .then(
              (res) => res.status === 200,
              () => false,
            ),
        30_000,
        100,
      );
      expect(peakRssMiB(service.child.pid!), 'peak RSS (MiB)').to.be.below(LIMIT_MIB);
    });
  }
});
