// `npm run bench`: the bot runtime's read, side by side, on 127.0.0.1 only, bounded in time (about eight
// minutes). In one run it starts a bare node:http server (and the same again, a control: what the service's ratios
// to bare are worth in this run is what the control's came to), a bare Express 5 app, the service twice (with
// the node options npm start and the image run it with) — as production runs it (READ_TOKENS and ADMIN_TOKENS
// set and the read token sent, a CORS origin, logs at info, metrics on; request id, log line, histogram, security
// headers and ETag handling all on) and with its defaults (no tokens, no CORS) — and, when Debian's
// python3-fastapi and python3-uvicorn are installed, the chatbot's own stack (FastAPI + uvicorn) answering the
// same JSON. It loads each with the same connections for the same time, in interleaved rounds (warm-up
// excluded), and prints every round, req/s, p50/p99 and RSS (medians of the rounds) and each ratio two ways: the
// median of the rounds' ratios (the two servers compared were measured seconds apart) and the ratio of the medians.
// Two more servers say where the read's CPU goes: bare node:http answering with the service's own header lines, and
// the service as in production without its request lines (LOG_LEVEL=warn); from bare to the service, step by step.
// Then the rest of the API beside bare Express's same-shaped routes (the list; the admin UI's whole-record PUT),
// issue #33's floors (each by both ratios, held or not), the bot's read through the chatbot's Python client beside a
// raw keep-alive http.client loop (with the TCP connections each opened), and RSS over a soak of distinct request ids
// and unknown paths.
//
// With two CPUs or more and taskset (util-linux), the servers run on the last CPU and wrk (this process, and so
// every load it starts) on the others: the load generator never takes turns with the server it measures on one
// core, which otherwise, wherever the scheduler put them, moved a round's ratio by half (BENCH_PIN=0: not pinned).
//
// The service's store is the in-memory one, or MongoDB when MONGODB_URI is set (the read then comes from the
// service's read cache, kept current by the change stream). The load generator is wrk (Debian package `wrk`)
// when installed, else autocannon in this process (slower, and it says so).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { SERVICE_NODE_OPTIONS, memoryMiB } from '../test/support/process';

const ROOT = path.resolve(__dirname, '..');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
// Under this load a server freshly started takes a few seconds to settle (its p99 falls slice after slice): the
// warm-up outlasts that (docs/benchmarks.md).
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
// wrk takes whole seconds: each sixth of the soak lasts at least one.
const SOAK_PART_SECONDS = Math.max(1, Math.round(SOAK_SECONDS / 6));
const CLIENT_CALLS = Number(process.env.BENCH_CLIENT_CALLS ?? 2_000);
const TOKEN = 'bench-read-token-0123456789abcdef';
const ADMIN = 'bench-admin-token-0123456789abcdef';
const HOT_PATH = '/integrations/facebook';
const ADMIN_UI = 'http://localhost:3000';

const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
const CPUS = availableParallelism();
const pinned =
  process.env.BENCH_PIN !== '0' &&
  CPUS >= 2 &&
  spawnSync('taskset', ['-pc', `0-${CPUS - 2}`, String(process.pid)], { stdio: 'ignore' }).status === 0;
const SERVER_CPU = String(CPUS - 1);
const pythonWith = (modules: string): string | undefined =>
  ['/usr/bin/python3', 'python3'].find(
    (candidate) => spawnSync(candidate, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0,
  );
const python = pythonWith('fastapi, uvicorn');
const pythonForClient = pythonWith('httpx');

interface Load {
  path: string;
  method?: 'GET' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  /** In `body`, this text is replaced by a counter, so every request's body differs (a PUT that changes the record). */
  varying?: string;
  /** Each request with its own request id and, every other one, its own unknown path, all made unique by this prefix.
   * */
  distinct?: string;
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  /** The server's CPU time (user and system, from /proc) per request answered, in µs: unlike req/s, it holds still
   * when the machine's other tenants take the CPU away for a while. */
  cpuUs: number;
}

interface Server {
  name: string;
  child: ChildProcess;
  url: string;
  /** What a client of this server sends with each read (the service in production: the read token). */
  headers: Record<string, string>;
}

interface Answer {
  status: number;
  body: string;
  /** The header lines as sent: name, value, name, value, … */
  rawHeaders: string[];
}

/** A GET on a connection of its own (none kept between the bench's phases): the answer, or status 0. */
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const failed = { status: 0, body: '', rawHeaders: [] };
    const req = httpGet(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, rawHeaders: res.rawHeaders }));
      res.on('error', () => resolve(failed));
    });
    req.on('error', () => resolve(failed));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function start(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  headers: Record<string, string> = {},
): Promise<Server> {
  // taskset runs the command in its own process: the child's pid is the server's.
  const [file, argv] = pinned ? ['taskset', ['-c', SERVER_CPU, command, ...args]] : [command, args];
  const child = spawn(file, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    const { status } = await get(`${url}${HOT_PATH}`, headers);
    if (status === 200) return { name, child, url, headers };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not start`);
}

function rssMiB(child: ChildProcess): number {
  const mib = memoryMiB(child.pid!, 'VmRSS');
  if (mib === undefined)
    throw new Error(
      `process ${child.pid} has exited (signal ${child.signalCode ?? 'none'}, code ${child.exitCode ?? 'none'})`,
    );
  return mib;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** The CPU time a server has used so far (user and system), in seconds. */
function cpuSeconds(child: ChildProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  // After the command's name (in parentheses): the state is field 3, utime and stime fields 14 and 15 (proc(5)).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const luaDir = mkdtempSync(path.join(tmpdir(), 'bench-'));
process.on('exit', () => rmSync(luaDir, { recursive: true, force: true }));

function wrkScript(load: Load): string {
  const file = path.join(luaDir, `load-${Math.random().toString(36).slice(2)}.lua`);
  const headers = Object.entries(load.headers ?? {})
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');
  writeFileSync(
    file,
    `wrk.method = ${JSON.stringify(load.method ?? 'GET')}
${load.body ? `wrk.body = ${JSON.stringify(load.body)}` : ''}
${headers}
local n = 0
${
  load.varying
    ? `local body = ${JSON.stringify(load.body ?? '')}
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, (body:gsub(${JSON.stringify(load.varying.replace(/[%^$().[\]*+\-?]/g, '%$&'))}, tostring(n), 1)))
end`
    : ''
}
${
  load.distinct
    ? `request = function()
  n = n + 1
  wrk.headers["X-Request-Id"] = "bench-${load.distinct}-" .. n
  local target = (n % 2 == 0) and ${JSON.stringify(load.path)} or ("/no-such-path-${load.distinct}-" .. n)
  return wrk.format(nil, target)
end`
    : ''
}
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %f %f %f %d %d\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad, summary.requests))
end
`,
  );
  return file;
}

async function drive(url: string, load: Load, seconds: number): Promise<Figures> {
  if (hasWrk) {
    const { stdout, stderr } = spawnSync(
      'wrk',
      ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', wrkScript(load), `${url}${load.path}`],
      { encoding: 'utf8' },
    );
    const result = /RESULT (\S+) (\S+) (\S+) (\S+) (\S+)/.exec(stdout);
    if (result === null) throw new Error(`wrk gave no figures for ${url}${load.path}: ${(stderr || stdout).trim()}`);
    const [rps, p50, p99, errors, requests] = result.slice(1).map(Number);
    // wrk counts non-2xx/3xx as errors; the distinct-path soak expects its 404s.
    return { rps, p50, p99, errors: load.distinct ? 0 : errors, requests, cpuUs: Number.NaN };
  }
  let n = 0;
  const result = await autocannon({
    url: `${url}${load.path}`,
    method: load.method ?? 'GET',
    headers: load.headers,
    body: load.body,
    connections: CONNECTIONS,
    duration: seconds,
    requests: load.distinct
      ? [
          {
            setupRequest: (req) => {
              n += 1;
              const path = n % 2 === 0 ? load.path : `/no-such-path-${load.distinct}-${n}`;
              return { ...req, path, headers: { ...req.headers, 'x-request-id': `bench-${load.distinct}-${n}` } };
            },
          },
        ]
      : load.varying
        ? [
            {
              setupRequest: (req) => {
                n += 1;
                return { ...req, body: load.body!.replace(load.varying!, String(n)) };
              },
            },
          ]
        : undefined,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: load.distinct ? 0 : result.non2xx + result.errors,
    requests: result.requests.total,
    cpuUs: Number.NaN,
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (n: number, digits = 0): string => n.toFixed(digits);

/**
 * Each server loaded in turn, round after round: every server's figures, and each round's in order. The order
 * is reversed every other round (a, b, c, then c, b, a), so a machine that speeds up or slows down over a few
 * seconds favours no server: what one round gives the earlier ones, the next gives the later ones.
 */
async function interleaved(servers: Server[], load: (server: Server) => Load): Promise<Map<string, Figures[]>> {
  for (const server of servers) await drive(server.url, load(server), WARMUP_SECONDS); // warm-up, not counted
  const runs = new Map<string, Figures[]>(servers.map((s) => [s.name, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const before = cpuSeconds(server.child);
      const figures = await drive(server.url, load(server), SECONDS);
      figures.cpuUs = ((cpuSeconds(server.child) - before) * 1e6) / figures.requests;
      runs.get(server.name)!.push(figures);
    }
  }
  return runs;
}

const medianOf = (figures: Figures[], key: keyof Figures): number => median(figures.map((f) => f[key]));
type Ratioed = 'rps' | 'p99' | 'cpuUs';
/** The median of each round's ratio of a's figure to b's. */
const ratio = (a: Figures[], b: Figures[], key: Ratioed): number =>
  median(a.map((f, round) => f[key] / b[round]![key]));
/** The ratio of the medians of a's and b's figures. */
const ratioOfMedians = (a: Figures[], b: Figures[], key: Ratioed): number => medianOf(a, key) / medianOf(b, key);
/** Both yardsticks, `median of the rounds' ratios / ratio of the medians`. */
const ratios = (a: Figures[], b: Figures[], key: Ratioed): string =>
  `${fmt(ratio(a, b, key), 2)}× / ${fmt(ratioOfMedians(a, b, key), 2)}×`;

interface Floor {
  goal: string;
  mine: Figures[];
  peer: Figures[];
  key: 'rps' | 'p99';
  /** req/s: the least ratio that holds; p99: the most. */
  bound: number;
}

/** Issue #33's floors for the production service, by both yardsticks: held when both are on the right side. */
function printFloors(floors: Floor[]): void {
  const at = CONNECTIONS === 50 ? '' : ` (at ${CONNECTIONS} connections; the floors are set at 50)`;
  console.log(`\n## The floors (issue #33), production settings${at}\n`);
  console.log("| floor | median of the rounds' ratios | ratio of the medians | held |");
  console.log('|---|---|---|---|');
  for (const { goal, mine, peer, key, bound } of floors) {
    const both = [ratio(mine, peer, key), ratioOfMedians(mine, peer, key)];
    const holds = (value: number): boolean => (key === 'p99' ? value <= bound : value >= bound);
    const held = both.every(holds) ? 'yes' : both.some(holds) ? 'by one yardstick only' : 'no';
    console.log(`| ${goal} | ${fmt(both[0]!, 2)}× | ${fmt(both[1]!, 2)}× | ${held} |`);
  }
}

/** The header lines of an answer that node:http would not write itself (Date, Connection, Keep-Alive, the length). */
function ownHeaderLines(rawHeaders: string[]): [string, string][] {
  const nodeWrites = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
  const lines: [string, string][] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!nodeWrites.has(rawHeaders[i]!.toLowerCase())) lines.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  }
  return lines;
}

/**
 * The read's CPU step by step from bare node:http to the service: each step's CPU per read, what it adds (the
 * median of the rounds' differences from the step before), and bare's CPU per read over it, the most a server
 * doing that much can reach against bare (#33's floor is 0.8x).
 */
function printWhereTheReadGoes(runs: Map<string, Figures[]>, steps: { step: string; server: Server }[]): void {
  console.log("\n## Where the read's CPU goes, step by step from bare node:http to the service\n");
  console.log("| step | CPU µs per read | added | bare node:http's CPU per read ÷ this |");
  console.log('|---|---|---|---|');
  const bare = runs.get(steps[0]!.server.name)!;
  let before: Figures[] | undefined;
  for (const { step, server } of steps) {
    const figures = runs.get(server.name)!;
    const added = before ? median(figures.map((f, round) => f.cpuUs - before![round]!.cpuUs)) : undefined;
    const shown = added === undefined ? '–' : `${added < 0 ? '' : '+'}${fmt(added, 1)}`;
    console.log(`| ${step} | ${fmt(medianOf(figures, 'cpuUs'), 1)} | ${shown} | ${ratios(bare, figures, 'cpuUs')} |`);
    before = figures;
  }
}

/** Every round's req/s and p99 of each server, in the order the rounds ran. */
function printRounds(runs: Map<string, Figures[]>): void {
  const names = [...runs.keys()];
  console.log(`\n| round | ${names.map((name) => `${name} req/s · p99 ms`).join(' | ')} |`);
  console.log(`|---|${names.map(() => '---|').join('')}`);
  for (let round = 0; round < ROUNDS; round += 1) {
    console.log(
      `| ${round + 1} | ` +
        `${names.map((name) => `${fmt(runs.get(name)![round]!.rps)} · ${fmt(runs.get(name)![round]!.p99, 2)}`).join(' | ')} |`,
    );
  }
}

/** A TCP proxy in front of `port` that counts the connections opened through it. */
async function countingProxy(port: number): Promise<{ url: string; opened: () => number; close: () => void }> {
  let opened = 0;
  const proxy = createServer((inbound) => {
    opened += 1;
    const outbound = connect(port, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    opened: () => opened,
    close: () => proxy.close(),
  };
}

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const store = process.env.MONGODB_URI
    ? 'MongoDB (MONGODB_URI; reads from the read cache, kept current by the change stream)'
    : 'in-memory';
  console.log(
    `# npm run bench — node ${process.version}, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ` +
      `${SECONDS} s per server (after a ${WARMUP_SECONDS} s warm-up), load generator: ` +
      `${hasWrk ? 'wrk (1 thread)' : 'autocannon in this process (install Debian wrk for figures comparable to the README)'}, ${pinned ? `on CPUs 0-${CPUS - 2}, every server on CPU ${SERVER_CPU}` : 'sharing the CPUs with the servers (not pinned)'}; the service's store: ${store}\n`,
  );

  const servers: Server[] = [];
  const stopAll = (): void => {
    for (const server of servers) server.child.kill('SIGTERM');
  };
  process.on('exit', stopAll);
  try {
    const peers = path.join(ROOT, 'bench', 'peers');
    const node = process.execPath;
    // A peer from bench/peers on a port of its own.
    const peer = async (name: string, file: string, env: NodeJS.ProcessEnv = {}): Promise<Server> => {
      const port = await freePort();
      return start(name, node, [path.join(peers, file), String(port)], env, port);
    };
    const bare = await peer('bare node:http', 'bare-node.js');
    // The same server again, read against the first like the service is: what this run's ratios are worth (how far
    // two identical servers' figures drift apart here: docs/benchmarks.md).
    const control = await peer('bare node:http, again (control)', 'bare-node.js');
    // The same again, ending the answers of one event-loop turn together: the trick the service no longer uses.
    const batched = await peer('bare node:http, answers of a turn ended together', 'bare-node-batched.js');
    const express = await peer('bare Express 5', 'bare-express.js', { NODE_PATH: path.join(ROOT, 'node_modules') });
    // The service as npm start and the image run it: node's options, then the entry point.
    const serviceArgs = [...SERVICE_NODE_OPTIONS, path.join(ROOT, 'dist', 'main.js')];
    const storeEnv = process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI, MIGRATE_ON_START: 'true' } : {};
    // As production runs it: both token lists, the bot runtime's read token on every read, the admin UI's
    // origin allowed, logs at info, metrics on, the host names it answers to.
    const asInProduction = (port: number): NodeJS.ProcessEnv => ({
      PORT: String(port),
      HOST: '127.0.0.1',
      // Any port on 127.0.0.1, as the client row reaches it through counting proxies.
      ALLOWED_HOSTS: '127.0.0.1',
      LOG_LEVEL: 'info',
      METRICS_ENABLED: 'true',
      READ_TOKENS: TOKEN,
      ADMIN_TOKENS: ADMIN,
      CORS_ORIGINS: ADMIN_UI,
      ...storeEnv,
    });
    const readToken = { Authorization: `Bearer ${TOKEN}` };
    let port = await freePort();
    const production = await start('service, production', node, serviceArgs, asInProduction(port), port, readToken);
    const idleRss = rssMiB(production.child);
    port = await freePort();
    const defaults = await start(
      'service, defaults',
      node,
      serviceArgs,
      { PORT: String(port), HOST: '127.0.0.1', ...storeEnv },
      port,
    );
    // Two steps from bare node:http to the service, to say where the read's CPU goes: bare answering with the
    // header lines of the service's own answer, and the service as in production without its request lines.
    const { rawHeaders } = await get(`${production.url}${HOT_PATH}`, readToken);
    const headerLines = await peer("bare node:http, the service's header lines", 'bare-node-service-headers.js', {
      PEER_HEADERS: JSON.stringify(ownHeaderLines(rawHeaders)),
    });
    port = await freePort();
    const unlogged = await start(
      'service, production, no request lines (LOG_LEVEL=warn)',
      node,
      serviceArgs,
      { ...asInProduction(port), LOG_LEVEL: 'warn' },
      port,
      readToken,
    );
    // The service beside bare node:http, the server its ratios are read against (in every round, either order), and
    // the control on bare's other side: each as far from bare in time as the other.
    servers.push(control, bare, production, defaults, headerLines, unlogged, batched, express);
    let fastapi: Server | undefined;
    if (python) {
      port = await freePort();
      fastapi = await start(
        'FastAPI 0.92 + uvicorn',
        python,
        [
          '-m',
          'uvicorn',
          'fastapi_app:app',
          '--app-dir',
          peers,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--no-access-log',
          '--log-level',
          'warning',
        ],
        {},
        port,
      );
      servers.push(fastapi);
    } else {
      console.log(
        'FastAPI peer SKIPPED: Debian python3-fastapi and python3-uvicorn are not installed (apt-get install ' +
          'python3-fastapi python3-uvicorn)\n',
      );
    }

    const runs = await interleaved(servers, (server) => ({ path: HOT_PATH, headers: server.headers }));
    console.log(`## Hot path: GET ${HOT_PATH} (medians of the rounds)\n`);
    console.log('| server | req/s | p50 ms | p99 ms | CPU µs per request | RSS MiB | non-2xx/errors |');
    console.log('|---|---|---|---|---|---|---|');
    for (const server of servers) {
      const figures = runs.get(server.name)!;
      const errors = figures.reduce((sum, f) => sum + f.errors, 0);
      console.log(
        `| ${server.name} | ${fmt(medianOf(figures, 'rps'))} | ${fmt(medianOf(figures, 'p50'), 2)} | ` +
          `${fmt(medianOf(figures, 'p99'), 2)} | ${fmt(medianOf(figures, 'cpuUs'), 1)} | ` +
          `${fmt(rssMiB(server.child), 1)} | ${errors} |`,
      );
    }
    printRounds(runs);
    console.log("\nRatios: the median of the rounds' ratios / the ratio of the medians.\n");
    console.log(
      "| server | req/s ÷ bare node:http | p99 ÷ bare node:http | bare node:http's CPU per request ÷ its " +
        '| req/s ÷ bare Express | p99 ÷ bare Express | req/s ÷ FastAPI | p99 ÷ FastAPI |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    for (const server of [production, defaults, control]) {
      const mine = runs.get(server.name)!;
      const against = (peer: Server | undefined): string =>
        peer ? `${ratios(mine, runs.get(peer.name)!, 'rps')} | ${ratios(mine, runs.get(peer.name)!, 'p99')}` : '– | –';
      // Bare's CPU per request over the server's: like req/s ÷ bare's, 1 is as cheap as bare, less is dearer.
      const cheap = ratios(runs.get(bare.name)!, mine, 'cpuUs');
      console.log(`| ${server.name} | ${against(bare)} | ${cheap} | ${against(express)} | ${against(fastapi)} |`);
    }

    printWhereTheReadGoes(runs, [
      { step: 'bare node:http', server: bare },
      {
        step: "+ the service's header lines (helmet's, the request id, ETag, Cache-Control)",
        server: headerLines,
      },
      {
        step: "+ the service's own work: host and token checks, route, handler, request context, histogram",
        server: unlogged,
      },
      { step: '+ the request line (LOG_LEVEL=info): the service, production', server: production },
    ]);

    console.log(
      "\n## The rest of the API, beside bare Express's same-shaped routes (production settings, medians of the " +
        'rounds)\n',
    );
    console.log(
      '| scenario | service req/s | service p99 ms | bare Express req/s | bare Express p99 ms | req/s ÷ bare ' +
        "Express (median of ratios / ratio of medians) | bare Express's CPU per request ÷ the service's | " +
        'non-2xx/errors |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    const record = JSON.parse(
      (await get(`${production.url}/admin/integrations/chat_widget`, production.headers)).body,
    ) as Record<string, unknown>;
    const scenarios: { name: string; load: Load }[] = [
      {
        name: 'GET /admin/integrations/ (the list)',
        load: { path: '/admin/integrations/', headers: { Authorization: `Bearer ${TOKEN}`, Origin: ADMIN_UI } },
      },
      {
        name: 'PUT /admin/integrations/chat_widget (the whole record, as the admin UI sends on each keystroke)',
        load: {
          path: '/admin/integrations/chat_widget',
          method: 'PUT',
          headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json', Origin: ADMIN_UI },
          // Each PUT a new description: every one is a write (a new version), as keystrokes are.
          body: JSON.stringify({
            ...record,
            description: 'typed NNNN',
            settings: { color: 'blue', position: 'right' },
          }),
          varying: 'NNNN',
        },
      },
    ];
    const rounds: [string, Map<string, Figures[]>][] = [];
    for (const { name, load } of scenarios) {
      const pair = await interleaved([production, express], () => load);
      const [mine, theirs] = [pair.get(production.name)!, pair.get(express.name)!];
      const errors = [...mine, ...theirs].reduce((sum, f) => sum + f.errors, 0);
      console.log(
        `| ${name} | ${fmt(medianOf(mine, 'rps'))} | ${fmt(medianOf(mine, 'p99'), 2)} | ` +
          `${fmt(medianOf(theirs, 'rps'))} | ${fmt(medianOf(theirs, 'p99'), 2)} | ${ratios(mine, theirs, 'rps')} | ` +
          `${ratios(theirs, mine, 'cpuUs')} | ${errors} |`,
      );
      rounds.push([name, pair]);
    }

    for (const [name, pair] of rounds) {
      console.log(`\n${name}, round by round:`);
      printRounds(pair);
    }

    const hot = runs.get(production.name)!;
    const [list, put] = rounds.map(([, pair]) => pair.get(production.name)!);
    const [listPeer, putPeer] = rounds.map(([, pair]) => pair.get(express.name)!);
    printFloors([
      { goal: 'read req/s ≥ 0.8× bare node:http', mine: hot, peer: runs.get(bare.name)!, key: 'rps', bound: 0.8 },
      { goal: 'read p99 ≤ 1.5× bare node:http', mine: hot, peer: runs.get(bare.name)!, key: 'p99', bound: 1.5 },
      { goal: 'list req/s ≥ 3× bare Express', mine: list!, peer: listPeer!, key: 'rps', bound: 3 },
      { goal: 'PUT req/s ≥ 1.2× bare Express', mine: put!, peer: putPeer!, key: 'rps', bound: 1.2 },
    ]);

    console.log(
      `\n## The bot's read through the chatbot's client: ${CLIENT_CALLS} sequential get_integration("facebook")\n`,
    );
    if (pythonForClient) {
      const servicePort = Number(new URL(production.url).port);
      const [viaClient, viaHttpx, viaRaw] = [
        await countingProxy(servicePort),
        await countingProxy(servicePort),
        await countingProxy(servicePort),
      ];
      // Spawned, not spawnSync: the counting proxies run in this process's event loop.
      const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(
          pythonForClient,
          [path.join(ROOT, 'bench', 'client_bench.py'), viaClient.url, viaHttpx.url, viaRaw.url, String(CLIENT_CALLS)],
          {
            env: { ...process.env, INTEGRATIONS_SERVICE_READ_TOKEN: TOKEN },
          },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      for (const proxy of [viaClient, viaHttpx, viaRaw]) proxy.close();
      if (run.status !== 0) throw new Error(`client bench failed: ${run.stderr}`);
      const result = JSON.parse(run.stdout) as Record<'client' | 'raw' | 'httpx', { mean_ms: number; p99_ms: number }>;
      const version = spawnSync(pythonForClient, ['-c', 'import httpx; print(httpx.__version__)'], {
        encoding: 'utf8',
      }).stdout.trim();
      console.log('| loop | mean ms | p99 ms | TCP connections opened |');
      console.log('|---|---|---|---|');
      console.log(
        `| integrations_client.get_integration (httpx ${version}) | ${fmt(result.client.mean_ms, 3)} | ` +
          `${fmt(result.client.p99_ms, 3)} | ${viaClient.opened()} |`,
      );
      console.log(
        `| httpx ${version} AsyncClient alone, the same GET | ${fmt(result.httpx.mean_ms, 3)} | ` +
          `${fmt(result.httpx.p99_ms, 3)} | ${viaHttpx.opened()} |`,
      );
      console.log(
        `| raw http.client, one keep-alive connection | ${fmt(result.raw.mean_ms, 3)} | ` +
          `${fmt(result.raw.p99_ms, 3)} | ${viaRaw.opened()} |`,
      );
      console.log(
        `\nclient ÷ raw http.client: mean ${fmt(result.client.mean_ms / result.raw.mean_ms, 2)}×, p99 ` +
          `${fmt(result.client.p99_ms / result.raw.p99_ms, 2)}×; client ÷ httpx alone: mean ` +
          `${fmt(result.client.mean_ms / result.httpx.mean_ms, 2)}×`,
      );
    } else {
      console.log('client row SKIPPED: no python3 with httpx (apt-get install python3-httpx)');
    }

    // The soak in six parts (ids and paths never repeat across them), RSS read after each: a leak climbs
    // part after part, a heap settling does not.
    const beforeSoak = rssMiB(production.child);
    const samples: number[] = [];
    for (let part = 1; part <= 6; part += 1) {
      await drive(
        production.url,
        { path: HOT_PATH, headers: production.headers, distinct: `p${part}` },
        SOAK_PART_SECONDS,
      );
      samples.push(rssMiB(production.child));
    }
    console.log(
      `\nRSS of the service (production): ${fmt(idleRss, 1)} MiB at idle; ${fmt(beforeSoak, 1)} MiB after the runs ` +
        `above; over ${SOAK_PART_SECONDS * 6} s of distinct request ids and distinct unknown paths, after each sixth: ` +
        `${samples.map((mib) => fmt(mib, 1)).join(', ')} MiB (first to last sixth: ` +
        `${fmt(samples[5]! - samples[0]!, 1)} MiB; range ` +
        `${fmt(Math.min(...samples), 1)}–${fmt(Math.max(...samples), 1)})`,
    );
    const metrics = (await get(`${production.url}/metrics`)).body;
    const series = metrics.split('\n').filter((l) => l.startsWith('http_request_duration_seconds_count')).length;
    console.log(`http_request_duration_seconds series after the soak: ${series} (route labels are a fixed set)`);
  } finally {
    stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
