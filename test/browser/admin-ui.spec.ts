// The chatbot's real admin UI (its frontend/, with clients/python/chatbot_patch.py's patch applied and built by
// Next.js) in Chromium against the service: a save the service refuses shows its reason, so a refused value
// never looks saved. The chatbot's source is not in this repository and cannot be fetched by the suite: the test
// runs where CHATBOT_CHECKOUT names a checkout of the chatbot at 5f57f99 (building its frontend takes minutes and
// the npm registry), and skips with one line elsewhere.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { type Browser, chromium } from 'playwright-core';
import { ROOT, freePort, git } from '../support/process';
import { startService } from '../support/service';
import { waitFor } from '../support/wait';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHECKOUT = process.env.CHATBOT_CHECKOUT;
const PYTHON = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['--version']).status === 0);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];

const missing = !CHECKOUT
  ? 'CHATBOT_CHECKOUT (a checkout of the chatbot at 5f57f99) is not set'
  : !existsSync(CHROMIUM)
    ? `${CHROMIUM} is missing`
    : !PYTHON
      ? 'no python3 to write the patch'
      : undefined;
if (missing) process.stdout.write(`  [admin UI] ${missing}: the chatbot's admin UI test is SKIPPED\n`);

(missing ? describe.skip : describe)("the chatbot's admin UI, patched, against the service", function () {
  this.timeout(900_000);
  let ui: ChildProcess;
  let uiUrl: string;
  let serviceUrl: string;
  let browser: Browser;
  let stop: () => Promise<void>;
  // The patched chatbot's worktree (its frontend built in it: about a gigabyte), removed with the checkout's record of
  // it when the test is done.
  let scratch: string | undefined;
  let tree: string;

  before(async () => {
    const servicePort = await freePort();
    serviceUrl = `http://127.0.0.1:${servicePort}`;
    const uiPort = await freePort();
    uiUrl = `http://127.0.0.1:${uiPort}`;
    // The patched chatbot in a worktree of the checkout, its frontend built to call the service directly (as in the
    // chatbot's development setup: NEXT_PUBLIC_API_BASE_URL, no gateway, the service open to that origin).
    scratch = mkdtempSync(path.join(tmpdir(), 'chatbot-ui-'));
    tree = path.join(scratch, 'tree');
    git(CHECKOUT!, 'worktree', 'add', '--detach', tree, '5f57f99');
    const patch = execFileSync(PYTHON!, [path.join(ROOT, 'clients/python/chatbot_patch.py'), CHECKOUT!], {
      maxBuffer: 64 * 1024 * 1024,
    });
    writeFileSync(path.join(tree, 'move.patch'), patch);
    git(tree, 'apply', 'move.patch');
    const frontend = path.join(tree, 'frontend');
    // Its layout fetches a Google font at build time, which no machine without the internet can: built without it.
    const layout = path.join(frontend, 'app/layout.tsx');
    writeFileSync(
      layout,
      readFileSync(layout, 'utf8')
        .replace('import { Inter } from "next/font/google";\n', '')
        .replace('const inter = Inter({ subsets: ["latin"] });\n', '')
        .replace('<body className={inter.className}>', '<body>'),
    );
    const env = { ...process.env, NEXT_PUBLIC_API_BASE_URL: serviceUrl, NEXT_TELEMETRY_DISABLED: '1' };
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: frontend, env, stdio: 'ignore' });
    execFileSync('npx', ['next', 'build'], { cwd: frontend, env, stdio: 'ignore' });
    // In a process group of its own: npx starts the server as a child, which outlives npx killed alone.
    ui = spawn('npx', ['next', 'start', '-p', String(uiPort), '-H', '127.0.0.1'], {
      cwd: frontend,
      env,
      stdio: 'ignore',
      detached: true,
    });
    const running = await startService({ PORT: String(servicePort), CORS_ORIGINS: uiUrl });
    stop = () => running.stop();
    await waitFor(
      'the admin UI',
      () =>
        fetch(uiUrl).then(
          (res) => res.ok,
          () => false,
        ),
      60_000,
      250,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    try {
      if (ui?.pid !== undefined) process.kill(-ui.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    await stop?.();
    if (scratch) {
      spawnSync('git', ['worktree', 'remove', '--force', path.join(scratch, 'tree')], { cwd: CHECKOUT });
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("shows the service's reason when it refuses a credential typed into the Facebook form, and saves nothing", async () => {
    const page = await browser.newPage();
    await page.goto(`${uiUrl}/admin/settings/integrations`);
    await page.getByRole('heading', { name: 'Facebook Messenger' }).click();
    await page.locator('input[name="secret"]').fill('enc:not-a-sealed-value');
    const shown = page.getByTestId('save-error');
    await shown.waitFor();
    const text = (await shown.textContent()) ?? '';
    expect(text).to.match(/^Not saved\./);
    expect(text).to.include('secret');
    const stored = (await (await fetch(`${serviceUrl}/integrations/facebook`)).json()) as {
      settings: { secret: string };
    };
    expect(stored.settings.secret).to.equal('');
    await page.screenshot({ path: path.join(tmpdir(), 'admin-ui-refusal.png') });
  });

  it("leaves the chatbot's Python as its pre-commit hooks want it: as `ruff format` writes it, `ruff check` clean", () => {
    // The files the patch adds or changes (applied without --index: new files are untracked).
    const changed = git(tree, 'status', '--porcelain', '--untracked-files=all')
      .split('\n')
      .filter((line) => line.endsWith('.py') && !line.startsWith(' D'))
      .map((line) => line.slice(3));
    expect(changed).to.include('app/admin/integrations/client.py');
    const ruff = spawnSync(process.execPath, [path.join(ROOT, 'scripts/ruff.mjs'), ...changed], {
      cwd: tree,
      encoding: 'utf8',
    });
    expect(ruff.stdout, 'what ruff finds').to.equal('');
    expect(ruff.status).to.equal(0);
  });
});
