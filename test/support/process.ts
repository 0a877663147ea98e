// Spawns the service as operators run it: the built entry point (dist/main.js) in its own process, configured by
// environment only. The build is made here when it is older than the source (npm test builds it first). Also what the
// deployments give that process (node options, receive buffers), and a flood's clients in a process of their own.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(__dirname, '../..');

/** Runs git in `dir` and gives what it printed; throws when git fails. */
export const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
const ENTRY = path.join(ROOT, 'dist/main.js');
// npm start's command (package.json), which the image's CMD is held to (test/ops): node, its options, the entry point.
const START = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start.split(' ');
/** The node options the service runs with, as npm start and the image give them. */
export const SERVICE_NODE_OPTIONS: readonly string[] = START.slice(1, -1);

/**
 * The receive buffer sizes (`net.ipv4.tcp_rmem`: min, default, max bytes) every deployment form gives the service's
 * network namespace, as ops/k8s/deployment.yaml sets them (test/ops holds the other forms to it). Read when asked, so
 * a manifest without it fails only what reads it.
 */
export function deployedTcpRmem(): string {
  const manifests = parseAllDocuments(readFileSync(path.join(ROOT, 'ops/k8s/deployment.yaml'), 'utf8'));
  const deployment = manifests.map((doc) => doc.toJS()).find((doc) => doc?.kind === 'Deployment');
  const sysctls: { name: string; value: string }[] = deployment?.spec?.template?.spec?.securityContext?.sysctls ?? [];
  const rmem = sysctls.find((sysctl) => sysctl.name === 'net.ipv4.tcp_rmem');
  if (rmem === undefined) throw new Error('ops/k8s/deployment.yaml sets no net.ipv4.tcp_rmem');
  return rmem.value;
}

function newestIn(dir: string): number {
  return Math.max(
    ...readdirSync(dir).map((name) => {
      const full = path.join(dir, name);
      const stat = statSync(full);
      return stat.isDirectory() ? newestIn(full) : stat.mtimeMs;
    }),
  );
}

let built = false;
/** dist/ as `npm run build` makes it, built now if any source file is newer. */
export function ensureBuilt(): void {
  if (built) return;
  let fresh = false;
  try {
    fresh = statSync(ENTRY).mtimeMs >= newestIn(path.join(ROOT, 'src'));
  } catch {
    fresh = false;
  }
  if (!fresh)
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  built = true;
}

export interface SpawnedService {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the port once the service logs that it listens. */
  listening: Promise<number>;
  /** Resolves with the exit code (or the signal that ended it). */
  exited: Promise<number | NodeJS.Signals>;
}

/**
 * `preload`: modules loaded before the service (node --import), e.g. test/support/fault-later.mjs. `from`: another
 * copy of the service to run instead of the build, as node's arguments and the folder to run them in.
 */
export function spawnService(
  env: NodeJS.ProcessEnv,
  preload: string[] = [],
  from?: { args: readonly string[]; cwd: string },
): SpawnedService {
  // Only what the test gives, plus PATH: no MONGODB_URI or other setting leaks in from the developer's shell.
  if (from === undefined) ensureBuilt();
  const child = spawn(
    process.execPath,
    from?.args ?? [...SERVICE_NODE_OPTIONS, ...preload.flatMap((module) => ['--import', module]), ENTRY],
    {
      cwd: from?.cwd ?? ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', () => reject(new Error(`exited before listening; stderr: ${err}`)));
  });
  listening.catch(() => undefined);
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal!)),
  );
  return { child, stdout: () => out, stderr: () => err, listening, exited };
}

export function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A TCP port free on 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A memory line of a process's /proc status (Linux), in MiB: `VmRSS` its resident memory now, `VmHWM` its peak so far;
 * undefined once it has exited (gone, or a zombie, whose status has no memory lines).
 */
export function memoryMiB(pid: number, line: 'VmRSS' | 'VmHWM'): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = new RegExp(`${line}:\\s+(\\d+)`).exec(status);
  return kib === null ? undefined : Number(kib[1]) / 1024;
}

/** A process's peak RSS so far (VmHWM), in MiB; undefined once it has exited. */
export const peakRssMiB = (pid: number): number | undefined => memoryMiB(pid, 'VmHWM');

// The flood's client: `node -e FLOOD_CLIENT <port> <connections> <requests> <authorization>`. It says `sent` once all
// its connections are open, their floods handed to their sockets (or why one failed), then holds them, never reading,
// until it is killed or its parent goes.
const FLOOD_CLIENT = `
const net = require('node:net');
const [port, connections, requests, authorization] = process.argv.slice(1);
const one = 'GET /integrations/facebook HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n' + authorization + '\\r\\n';
const flood = one.repeat(Number(requests));
let open = 0;
for (let i = 0; i < Number(connections); i += 1) {
  const socket = net.connect(Number(port), '127.0.0.1', () => {
    open += 1;
    if (open === Number(connections)) process.stdout.write('sent\\n');
  });
  socket.once('error', (error) => open < Number(connections) && process.stdout.write(error.message + '\\n'));
  socket.on('error', () => undefined);
  socket.pause();
  socket.write(flood);
}
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** A flood's clients, in their process. */
export interface Flood {
  /** The clients go away: their process is killed, and the kernel resets their connections. */
  leave(): void;
}

/**
 * The pipelining flood of a client that never reads (issue #33, row 1): `connections` connections to `port` on
 * 127.0.0.1, each sending `requests` reads of the bot runtime's record in one go (with `authorization`, a header line
 * or ''), never reading an answer. Sent from a process of its own, as an attacker's is: sent from the caller's, the
 * same flood arrived slower, and the service lived through floods there that it did not from another process.
 */
export async function floodUnread(
  port: number,
  connections: number,
  requests: number,
  authorization: string,
): Promise<Flood> {
  const args = [port, connections, requests, authorization].map(String);
  const clients = spawn(process.execPath, ['-e', FLOOD_CLIENT, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [sent] = (await once(clients.stdout!, 'data')) as [Buffer];
  if (sent.toString() !== 'sent\n') {
    clients.kill('SIGKILL');
    throw new Error(`the flood's client said ${sent.toString().trim()}`);
  }
  return { leave: () => clients.kill('SIGKILL') };
}
