// `npm run bench`: the bot runtime's read, side by side, on 127.0.0.1 only, bounded in time (under three
// minutes). In one run it starts a bare node:http server, a bare Express 5 app, the service (built, in-memory
// store, all features on: request id, one JSON log line per request at info through winston, the Prometheus
// histogram, CORS, ETag/If-None-Match, bearer auth with READ_TOKENS), and, when Debian's python3-fastapi and
// python3-uvicorn are installed, the chatbot's own stack (FastAPI + uvicorn) answering the same JSON; loads
// each with the same connections for the same time (interleaved rounds, warm-up excluded), and prints req/s,
// p50/p99, RSS and the ratios. Then the service alone: GET list, a whole-record PUT, and RSS at idle and after
// a minute of distinct request ids and distinct unknown paths.
//
// The load generator is wrk (Debian package `wrk`) when installed, else autocannon in this process (slower:
// it then shares the two cores with the servers, and says so).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

const ROOT = path.resolve(__dirname, '..');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
const TOKEN = 'bench-read-token-0123456789abcdef';
const ADMIN = 'bench-admin-token-0123456789abcdef';
const HOT_PATH = '/integrations/facebook';

const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
const python = ['/usr/bin/python3', 'python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import fastapi, uvicorn'], { stdio: 'ignore' }).status === 0,
);

interface Load {
  path: string;
  method?: 'GET' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  /** Every request with its own X-Request-Id, and every other one to its own unknown path. */
  /** Each request with its own request id and, every other one, its own unknown path, all made unique by this prefix. */
  distinct?: string;
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

interface Server {
  name: string;
  child: ChildProcess;
  url: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, port: number): Promise<Server> {
  const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    const status = await fetch(`${url}${HOT_PATH}`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.status, () => 0);
    if (status === 200) return { name, child, url };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not start`);
}

function rssMiB(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  if (kib === undefined) throw new Error(`process ${child.pid} has exited (signal ${child.signalCode ?? 'none'}, code ${child.exitCode ?? 'none'})`);
  return Number(kib) / 1024;
}

const luaDir = mkdtempSync(path.join(tmpdir(), 'bench-'));

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
  io.write(string.format("RESULT %f %f %f %d\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad))
end
`,
  );
  return file;
}

async function drive(url: string, load: Load, seconds: number): Promise<Figures> {
  if (hasWrk) {
    const out = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', wrkScript(load), `${url}${load.path}`], { encoding: 'utf8' }).stdout;
    const [rps, p50, p99, errors] = /RESULT (\S+) (\S+) (\S+) (\S+)/.exec(out)!.slice(1).map(Number);
    // wrk counts non-2xx/3xx as errors; the distinct-path soak expects its 404s.
    return { rps, p50, p99, errors: load.distinct ? 0 : errors };
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
      ? [{ setupRequest: (req) => ({ ...req, path: (n += 1) % 2 === 0 ? load.path : `/no-such-path-${load.distinct}-${n}`, headers: { ...req.headers, 'x-request-id': `bench-${load.distinct}-${n}` } }) }]
      : undefined,
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: load.distinct ? 0 : result.non2xx + result.errors };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (n: number, digits = 0): string => n.toFixed(digits);

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  if (build.status !== 0) throw new Error('npm run build failed');
  console.log(
    `# npm run bench — node ${process.version}, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per server (after a warm-up), load generator: ${hasWrk ? 'wrk (1 thread)' : 'autocannon in this process (install Debian wrk for figures comparable to the README)'}; the service's store: ${process.env.MONGODB_URI ? 'MongoDB (MONGODB_URI)' : 'in-memory'}\n`,
  );

  const servers: Server[] = [];
  const stopAll = (): void => servers.forEach((s) => s.child.kill('SIGTERM'));
  process.on('exit', stopAll);
  try {
    const peers = path.join(ROOT, 'bench', 'peers');
    const node = process.execPath;
    let port = await freePort();
    servers.push(await start('bare node:http', node, [path.join(peers, 'bare-node.js'), String(port)], {}, port));
    port = await freePort();
    servers.push(await start('bare Express 5', node, [path.join(peers, 'bare-express.js'), String(port)], { NODE_PATH: path.join(ROOT, 'node_modules') }, port));
    port = await freePort();
    // The in-memory store, or MongoDB (and its read cache) when MONGODB_URI is set for the bench.
    const serviceEnv = {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      METRICS_ENABLED: 'true',
      READ_TOKENS: TOKEN,
      ADMIN_TOKENS: ADMIN,
      CORS_ORIGINS: 'http://localhost:3000',
      ...(process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI, MIGRATE_ON_START: 'true' } : {}),
    };
    const service = await start('integrations-service', node, [path.join(ROOT, 'dist', 'main.js')], serviceEnv, port);
    servers.push(service);
    const idleRss = rssMiB(service.child);
    if (python) {
      port = await freePort();
      servers.push(await start('FastAPI 0.92 + uvicorn', python, ['-m', 'uvicorn', 'fastapi_app:app', '--app-dir', peers, '--host', '127.0.0.1', '--port', String(port), '--no-access-log', '--log-level', 'warning'], {}, port));
    } else {
      console.log('FastAPI peer SKIPPED: Debian python3-fastapi and python3-uvicorn are not installed (apt-get install python3-fastapi python3-uvicorn)\n');
    }

    const hot: Load = { path: HOT_PATH, headers: { Authorization: `Bearer ${TOKEN}` } };
    for (const server of servers) await drive(server.url, hot, 2); // warm-up, not counted
    const runs = new Map<string, Figures[]>(servers.map((s) => [s.name, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const server of servers) runs.get(server.name)!.push(await drive(server.url, hot, SECONDS));
    }
    const summary = new Map(
      servers.map((s) => {
        const figures = runs.get(s.name)!;
        return [s.name, { rps: median(figures.map((f) => f.rps)), p50: median(figures.map((f) => f.p50)), p99: median(figures.map((f) => f.p99)), errors: figures.reduce((a, f) => a + f.errors, 0), rss: rssMiB(s.child) }];
      }),
    );
    console.log(`## Hot path: GET ${HOT_PATH} (medians of the rounds)\n`);
    console.log('| server | req/s | p50 ms | p99 ms | RSS MiB | non-2xx/errors |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, f] of summary) console.log(`| ${name} | ${fmt(f.rps)} | ${fmt(f.p50, 2)} | ${fmt(f.p99, 2)} | ${fmt(f.rss, 1)} | ${f.errors} |`);
    const svc = summary.get('integrations-service')!;
    const express = summary.get('bare Express 5')!;
    const bare = summary.get('bare node:http')!;
    console.log(
      `\nservice / bare Express: req/s ${fmt(svc.rps / express.rps, 2)}×, p99 ${fmt(svc.p99 / express.p99, 2)}×   service / bare node:http: req/s ${fmt(svc.rps / bare.rps, 2)}×, p99 ${fmt(svc.p99 / bare.p99, 2)}×`,
    );
    const fastapi = summary.get('FastAPI 0.92 + uvicorn');
    if (fastapi) console.log(`service / FastAPI: req/s ${fmt(svc.rps / fastapi.rps, 2)}×, p99 ${fmt(svc.p99 / fastapi.p99, 2)}×`);

    console.log('\n## The service alone\n');
    console.log('| scenario | req/s | p50 ms | p99 ms | non-2xx/errors |');
    console.log('|---|---|---|---|---|');
    // Each scenario after its own warm-up, as the hot path: a first run would time the JIT compiling Express's paths.
    const listLoad: Load = { path: '/admin/integrations/', headers: { Authorization: `Bearer ${TOKEN}` } };
    await drive(service.url, listLoad, 2);
    const list = await drive(service.url, listLoad, SECONDS);
    console.log(`| GET /admin/integrations/ (list) | ${fmt(list.rps)} | ${fmt(list.p50, 2)} | ${fmt(list.p99, 2)} | ${list.errors} |`);
    const record = (await (await fetch(`${service.url}/admin/integrations/chat_widget`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Record<string, unknown>;
    const put: Load = {
      path: '/admin/integrations/chat_widget',
      method: 'PUT',
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...record, settings: { color: 'blue', position: 'right' } }),
    };
    await drive(service.url, put, 2);
    const puts = await drive(service.url, put, SECONDS);
    console.log(`| PUT /admin/integrations/chat_widget (whole record, as the admin UI) | ${fmt(puts.rps)} | ${fmt(puts.p50, 2)} | ${fmt(puts.p99, 2)} | ${puts.errors} |`);

    // The soak in six parts (ids and paths never repeat across them), RSS read after each: a leak climbs
    // part after part, a heap settling does not.
    const beforeSoak = rssMiB(service.child);
    const samples: number[] = [];
    for (let part = 1; part <= 6; part += 1) {
      await drive(service.url, { ...hot, distinct: `p${part}` }, SOAK_SECONDS / 6);
      samples.push(rssMiB(service.child));
    }
    console.log(
      `\nRSS of the service: ${fmt(idleRss, 1)} MiB at idle; ${fmt(beforeSoak, 1)} MiB after the runs above; over ${SOAK_SECONDS} s of distinct request ids and distinct unknown paths, after each sixth: ${samples.map((mib) => fmt(mib, 1)).join(', ')} MiB (first to last sixth: ${fmt(samples[5]! - samples[0]!, 1)} MiB; range ${fmt(Math.min(...samples), 1)}–${fmt(Math.max(...samples), 1)})`,
    );
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
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
