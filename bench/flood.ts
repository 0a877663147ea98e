// `npm run bench:flood`: the pipelining flood of issue #33 on 127.0.0.1 — 200 connections each sending 3,000 GETs
// in one go and never reading an answer — against the service (tokens configured and the read token sent; open;
// tokens configured and none sent) and bare node:http. Each server is started fresh and flooded twice. The first
// time the flood's connections stay open while /healthz is asked on a new connection every 250 ms: how long
// until it answered. The second time the flood's clients go away after HOLD_MS (their connections closed): how
// long after that until /healthz answered. Printed: both, and the server's peak RSS (VmHWM) over both.
// Bounded: each flood is 600,000 requests, each wait 60 s at most.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { ROOT, SERVICE_NODE_OPTIONS, ensureBuilt, freePort, peakRssMiB } from '../test/support/process';

const CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 200);
const REQUESTS = Number(process.env.FLOOD_REQUESTS ?? 3_000);
const HOLD_MS = Number(process.env.FLOOD_HOLD_MS ?? 3_000);
const TOKEN = 'flood-read-token-0123456789abcdef';

async function healthz(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(250) }).then(
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
  try {
    for (let i = 0; i < 100 && !(await healthz(port)); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    const request = `GET /integrations/facebook HTTP/1.1\r\nHost: 127.0.0.1\r\n${authorization}\r\n`.repeat(REQUESTS);
    const send = (): Socket[] =>
      Array.from({ length: CONNECTIONS }, () => {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.pause();
        socket.write(request);
        return socket;
      });
    /** Asks /healthz every 250 ms from `since`: seconds until it answered (the peak RSS read meanwhile). */
    const untilHealthy = async (since: number): Promise<string> => {
      while (performance.now() - since < 60_000) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        peak = Math.max(peak, peakRssMiB(child.pid!) ?? 0);
        if (exited !== undefined) return exited;
        if (await healthz(port)) return `${((performance.now() - since) / 1000).toFixed(1)} s`;
      }
      return 'not within 60 s';
    };
    let sockets = send();
    const during = await untilHealthy(performance.now());
    for (const socket of sockets) socket.destroy();
    sockets = send();
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    for (const socket of sockets) socket.destroy();
    const after = exited ?? (await untilHealthy(performance.now()));
    console.log(`| ${name} | ${Math.max(peak, peakRssMiB(child.pid!) ?? 0).toFixed(0)} | ${during} | ${after} |`);
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  ensureBuilt();
  const service = [...SERVICE_NODE_OPTIONS, path.join(ROOT, 'dist', 'main.js')];
  const quiet = { HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  console.log(
    `# npm run bench:flood — node ${process.version}, ${CONNECTIONS} connections x ${REQUESTS} pipelined GETs, ` +
      `never read\n`,
  );
  console.log(
    `| server | peak RSS MiB | /healthz answered, the flood's connections open | /healthz answered after the ` +
      `flood's clients went away (${HOLD_MS / 1000} s in) |`,
  );
  console.log('|---|---|---|---|');
  let port = await freePort();
  await flood(
    'service, tokens configured, read token sent',
    service,
    { ...quiet, PORT: String(port), READ_TOKENS: TOKEN },
    port,
    `Authorization: Bearer ${TOKEN}\r\n`,
  );
  port = await freePort();
  await flood('service, open (no tokens)', service, { ...quiet, PORT: String(port) }, port, '');
  port = await freePort();
  await flood(
    'service, tokens configured, none sent (401s)',
    service,
    { ...quiet, PORT: String(port), READ_TOKENS: TOKEN },
    port,
    '',
  );
  port = await freePort();
  await flood('bare node:http', [path.join(ROOT, 'bench', 'peers', 'bare-node.js'), String(port)], {}, port, '');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
