// /docs in a real browser (Debian's Chromium, headless): every operation renders, and no request
// leaves 127.0.0.1 — the page works offline, without a CDN.
import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { chromium, type Browser } from 'playwright-core';
import { startService, type RunningService } from '../support/service';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

describe('the /docs page in Chromium', function () {
  this.timeout(60_000);
  let running: RunningService;
  let browser: Browser;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      process.stdout.write(
        `  [browser] ${CHROMIUM} is missing: the /docs browser test is SKIPPED (install Debian's chromium package; ` +
          `.ci/run does)\n`,
      );
      this.skip();
    }
    running = await startService();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await running?.stop();
  });

  it('renders every operation of the API with no request leaving 127.0.0.1', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const requested: string[] = [];
    const offHost: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      requested.push(url);
      if (url.startsWith(`${running.url}/`) || url.startsWith('data:') || url.startsWith('blob:'))
        return route.continue();
      offHost.push(url);
      return route.abort();
    });

    await page.goto(`${running.url}/docs`, { waitUntil: 'networkidle' });
    const doc = (await (await fetch(`${running.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const expected = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    const rendered = await page.$$eval('.opblock', (blocks) =>
      blocks.map(
        (b) =>
          `${b.querySelector('.opblock-summary-method')?.textContent?.trim()} ` +
          `${b.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
      ),
    );

    expect(rendered).to.have.members(expected);
    expect(await page.textContent('.info .title')).to.include('integrations-service');
    expect(offHost, `requests that tried to leave the host: ${offHost.join(', ')}`).to.deep.equal([]);
    expect(requested).to.include(`${running.url}/openapi.json`);
    await context.close();
  });
});
