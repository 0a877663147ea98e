// The Python client (clients/python) tested with python3's unittest against a real service with tokens
// on, from `npm test`. Skips with one line where no python3 >= 3.9 exists.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { startService, type RunningService } from '../support/service';

const CLIENT_DIR = path.resolve(__dirname, '../../clients/python');
const ADMIN_TOKEN = 'python-admin-token-0123456789abcdef';
const READ_TOKEN = 'python-read-token-0123456789abcdef';
const PYTHON = ['python3', '/usr/bin/python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)']).status === 0,
);

if (!PYTHON) process.stdout.write('  [python] no python3 >= 3.9: the Python client tests are SKIPPED\n');

(PYTHON ? describe : describe.skip)('the Python client (clients/python, unittest)', function () {
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
      env: { PATH: process.env.PATH, INTEGRATIONS_SERVICE_URL: running.url, TEST_ADMIN_TOKEN: ADMIN_TOKEN, TEST_READ_TOKEN: READ_TOKEN, PYTHONDONTWRITEBYTECODE: '1' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status, output).to.equal(0);
    expect(output).to.match(/Ran \d+ tests/).and.include('OK');
  });
});
