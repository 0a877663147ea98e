// `npm run bench:flood`: the pipelining flood of issue #33 on 127.0.0.1 — 200 connections each sending 3,000 GETs
// in one go and never reading an answer — against the service (tokens configured and the read token sent; open;
// tokens configured and none sent) and bare node:http. Each server is started fresh and flooded twice. The first
// time the flood's connections stay open while /healthz is asked on a new connection every 250 ms (each given 250 ms):
// how long until the API port answered; meanwhile the service (run as ops/ deploys it) is probed on its probe port
// as the kubelet probes, every 500 ms with 2 s each. The second time the flood's clients go away after HOLD_MS
// (their connections closed): the same, from then. Printed: those, and the server's peak RSS (VmHWM) over both.
// Bounded: each flood is 600,000 requests, each wait 60 s at most.
//
// The kernel's receive buffers are those of the deployments (net.ipv4.tcp_rmem, ops/): where this machine's differ,
// the bench runs itself in a network namespace of its own with the deployments' value (unshare, as root), or says it
// could not. FLOOD_TCP_RMEM=host keeps the machine's.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  deployedTcpRmem,
  type Flood,
  ROOT,
  SERVICE_NODE_OPTIONS,
  ensureBuilt,
  floodUnread,
  freePort,
  peakRssMiB,
} from '../test/support/process';

const CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 200);
const REQUESTS = Number(process.env.FLOOD_REQUESTS ?? 3_000);
const HOLD_MS = Number(process.env.FLOOD_HOLD_MS ?? 3_000);
const TOKEN = 'flood-read-token-0123456789abcdef';
const DEPLOYED_TCP_RMEM = deployedTcpRmem();

async function healthz(port: number, timeoutMs = 250): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) }).then(
    (res) => res.ok,
    () => false,
  );
}

async function flood(
  name: string,
  command: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  authorization: string,
  probePort?: number,
): Promise<void> {
  const child = spawn(process.execPath, command, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A server that dies is reported, not waited for: its last words (V8's out-of-memory report) say why.
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    const outOfMemory = /heap out of memory/.test(stderr) ? ', out of memory' : '';
    exited = `exited (${signal ?? `code ${code}`}${outOfMemory})`;
  });
  let peak = 0;
  let clients: Flood | undefined;
  try {
    for (let i = 0; i < 100 && !(await healthz(port)); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    const send = (): Promise<Flood> => floodUnread(port, CONNECTIONS, REQUESTS, authorization);
    /** Asks /healthz on `at` every 250 ms from `since`: seconds until it answered (the peak RSS read meanwhile). */
    const untilHealthy = async (since: number, at: number): Promise<string> => {
      while (performance.now() - since < 60_000) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        peak = Math.max(peak, peakRssMiB(child.pid!) ?? 0);
        if (exited !== undefined) return exited;
        if (await healthz(at)) return `${((performance.now() - since) / 1000).toFixed(1)} s`;
      }
      return 'not within 60 s';
    };
    /**
     * As the kubelet probes (ops/k8s: liveness timeoutSeconds 2): /healthz on `at` every 500 ms, each given 2 s, until
     * `over` settles: how many were answered in time, and the slowest answer.
     */
    const probed = async (at: number | undefined, over: Promise<unknown>): Promise<string> => {
      if (at === undefined) return '-';
      let done = false;
      over.finally(() => (done = true));
      const times: number[] = [];
      const sent: Promise<void>[] = [];
      while (!done && exited === undefined) {
        const asked = performance.now();
        sent.push(healthz(at, 2_000).then((ok) => void (ok && times.push((performance.now() - asked) / 1000))));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await Promise.all(sent);
      if (sent.length === 0) return exited ?? '-';
      const slowest = times.length > 0 ? `, the slowest in ${Math.max(...times).toFixed(2)} s` : '';
      return `${times.length} of ${sent.length} within 2 s${slowest}${exited ? `; then ${exited}` : ''}`;
    };
    /** The API port's first answer, and the probe port's probes meanwhile ('-' for a server without one). */
    const bothHealthy = async (since: number): Promise<[string, string]> => {
      const api = untilHealthy(since, port);
      return Promise.all([api, probed(probePort, api)]);
    };
    clients = await send();
    const during = await bothHealthy(performance.now());
    clients.leave();
    clients = await send();
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    clients.leave();
    const after = exited !== undefined ? [exited, exited] : await bothHealthy(performance.now());
    const peakMiB = Math.max(peak, peakRssMiB(child.pid!) ?? 0).toFixed(0);
    console.log(`| ${name} | ${peakMiB} | ${during[0]} | ${during[1]} | ${after[0]} | ${after[1]} |`);
  } finally {
    clients?.leave();
    child.kill('SIGKILL');
  }
}

const TCP_RMEM = '/proc/sys/net/ipv4/tcp_rmem';
const tcpRmem = (): string => readFileSync(TCP_RMEM, 'utf8').trim().split(/\s+/).join(' ');

/**
 * In the network namespace made for the bench: loopback up, the deployments' receive buffers. Elsewhere, where the
 * machine's buffers differ from the deployments': the bench again, in a namespace of its own; true once it ran there.
 */
function ranInDeployedNetwork(): boolean {
  if (process.env.FLOOD_NETNS === '1') {
    execFileSync('ip', ['link', 'set', 'lo', 'up']);
    writeFileSync(TCP_RMEM, DEPLOYED_TCP_RMEM);
    return false;
  }
  if (process.env.FLOOD_TCP_RMEM === 'host' || tcpRmem() === DEPLOYED_TCP_RMEM) return false;
  const probe = spawnSync('unshare', ['--net', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim();
    console.log(`(the machine's receive buffers: no network namespace can be made here: ${why})`);
    return false;
  }
  const run = spawnSync('unshare', ['--net', '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, FLOOD_NETNS: '1' },
    stdio: 'inherit',
  });
  process.exitCode = run.status ?? 1;
  return true;
}

async function main(): Promise<void> {
  ensureBuilt();
  if (ranInDeployedNetwork()) return;
  const service = [...SERVICE_NODE_OPTIONS, path.join(ROOT, 'dist', 'main.js')];
  const quiet = { HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  console.log(
    `# npm run bench:flood — node ${process.version}, ${CONNECTIONS} connections x ${REQUESTS} pipelined GETs, ` +
      `never read; net.ipv4.tcp_rmem ${tcpRmem()} (the deployments': ${DEPLOYED_TCP_RMEM})\n`,
  );
  console.log(
    `| server | peak RSS MiB | /healthz answered, the flood's connections open: API port | meanwhile on the probe ` +
      `port (PROBE_PORT), a probe every 500 ms | /healthz answered after the flood's clients went away ` +
      `(${HOLD_MS / 1000} s in): API port | meanwhile on the probe port |`,
  );
  console.log('|---|---|---|---|---|---|');
  // The service as deployed (ops/): probes on a port of their own.
  const ports = async (): Promise<[number, number, NodeJS.ProcessEnv]> => {
    const [api, probes] = [await freePort(), await freePort()];
    return [api, probes, { ...quiet, PORT: String(api), PROBE_PORT: String(probes) }];
  };
  let [port, probePort, env] = await ports();
  await flood(
    'service, tokens configured, read token sent',
    service,
    { ...env, READ_TOKENS: TOKEN },
    port,
    `Authorization: Bearer ${TOKEN}\r\n`,
    probePort,
  );
  [port, probePort, env] = await ports();
  await flood('service, open (no tokens)', service, env, port, '', probePort);
  [port, probePort, env] = await ports();
  await flood(
    'service, tokens configured, none sent (401s)',
    service,
    { ...env, READ_TOKENS: TOKEN },
    port,
    '',
    probePort,
  );
  port = await freePort();
  await flood('bare node:http', [path.join(ROOT, 'bench', 'peers', 'bare-node.js'), String(port)], {}, port, '');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
