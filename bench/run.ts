// `npm run bench`: load on 127.0.0.1 only, bounded in time and connections. Starts the service in a
// process of its own (logs at info to /dev/null, as in production minus the collector), then drives
// it with autocannon from this one, and prints the figures. Set MONGODB_URI to measure on MongoDB.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import autocannon from 'autocannon';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the service did not become ready');
}

interface Scenario {
  title: string;
  method: 'GET' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  expect: number;
}

async function main(): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.resolve(__dirname, '..'),
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', MONGODB_URI: process.env.MONGODB_URI ?? '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitReady(url);
    const facebook = (await (await fetch(`${url}/integrations/facebook`)).json()) as Record<string, unknown>;
    const scenarios: Scenario[] = [
      { title: 'GET /integrations/facebook (bot runtime hot path)', method: 'GET', path: '/integrations/facebook', expect: 200 },
      { title: 'GET /integrations/facebook with matching If-None-Match', method: 'GET', path: '/integrations/facebook', headers: { 'if-none-match': `"${facebook.version}"` }, expect: 304 },
      { title: 'GET /admin/integrations/ (list)', method: 'GET', path: '/admin/integrations/', expect: 200 },
      {
        title: 'PUT /admin/integrations/chat_widget (whole record)',
        method: 'PUT',
        path: '/admin/integrations/chat_widget',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'chat_widget', name: 'Chat Widget', description: 'bench', status: true, settings: { color: 'blue' }, version: 1 }),
        expect: 200,
      },
    ];
    console.log(`store: ${process.env.MONGODB_URI ? 'mongodb' : 'in-memory'}; ${CONNECTIONS} connections, ${DURATION_S} s per scenario, node ${process.version}\n`);
    console.log('| scenario | req/s (mean) | p50 ms | p99 ms | max ms | unexpected status |');
    console.log('|---|---|---|---|---|---|');
    for (const s of scenarios) {
      let unexpected = 0;
      const result = await autocannon({
        url: `${url}${s.path}`,
        method: s.method,
        headers: s.headers,
        body: s.body,
        connections: CONNECTIONS,
        duration: DURATION_S,
        setupClient: (client) => {
          client.on('response', (statusCode: number) => {
            if (statusCode !== s.expect) unexpected += 1;
          });
        },
      });
      console.log(`| ${s.title} | ${Math.round(result.requests.mean)} | ${result.latency.p50} | ${result.latency.p99} | ${result.latency.max} | ${unexpected + result.errors + result.timeouts} |`);
    }
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
