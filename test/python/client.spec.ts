// The Python client (clients/python) tested with python3's unittest against a real service with tokens on, from
// `npm test`, on an interpreter that has httpx (the chatbot's own dependency; Debian's python3-httpx, which
// .ci/run installs); its FastAPI error-handler tests also need fastapi (python3-fastapi) and say so when skipped.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { startService, type RunningService } from '../support/service';

const CLIENT_DIR = path.resolve(__dirname, '../../clients/python');
const ADMIN_TOKEN = 'python-admin-token-0123456789abcdef';
const READ_TOKEN = 'python-read-token-0123456789abcdef';
const can = (python: string, code: string): boolean => spawnSync(python, ['-c', code]).status === 0;
// The python3 on PATH first (a virtual environment, CI's interpreter with the chatbot's pinned packages), then
// Debian's, which has the packages apt installs.
const candidates = ['python3', '/usr/bin/python3'].filter((python) =>
  can(python, 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'),
);
// The one that also has fastapi, else any with httpx.
export const PYTHON =
  candidates.find((python) => can(python, 'import httpx, fastapi')) ??
  candidates.find((python) => can(python, 'import httpx'));

if (!PYTHON)
  process.stdout.write(
    '  [python] no python3 >= 3.9 with httpx (apt-get install python3-httpx python3-fastapi; .ci/run does): the ' +
      'Python client tests are SKIPPED\n',
  );

(PYTHON ? describe : describe.skip)('the Python client (clients/python, unittest, httpx)', function () {
  this.timeout(60_000);
  let running: RunningService;

  before(async () => {
    running = await startService({ ADMIN_TOKENS: ADMIN_TOKEN, READ_TOKENS: READ_TOKEN, LOG_LEVEL: 'warn' });
  });
  after(async () => {
    await running.stop();
  });

  it('passes its unittest suite against the running service', async () => {
    // Asynchronously: the service answers from this very process while python3 runs.
    const child = spawn(PYTHON!, ['-m', 'unittest', '-v', 'test_integrations_client'], {
      cwd: CLIENT_DIR,
      env: {
        PATH: process.env.PATH,
        INTEGRATIONS_SERVICE_URL: running.url,
        TEST_ADMIN_TOKEN: ADMIN_TOKEN,
        TEST_READ_TOKEN: READ_TOKEN,
        PYTHONDONTWRITEBYTECODE: '1',
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status, output).to.equal(0);
    expect(output)
      .to.match(/Ran \d+ tests/)
      .and.include('OK');
    const skipped = [...output.matchAll(/\.\.\. skipped '([^']+)'/g)].map((m) => m[1]);
    if (skipped.length > 0) process.stdout.write(`      [python] skipped: ${[...new Set(skipped)].join('; ')}\n`);
  });
});
