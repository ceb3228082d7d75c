import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { demoHandler } from '../../handlers/index.js';
import { launchChromium, screenshotPath } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The page of a demo served by a test server, at a desktop size, with every failed request and console error noted. */
async function openDemo(browser: Browser, name: string, failures: string[]): Promise<{ server: TestServer; page: Page }> {
  const demo = demoHandler(name);
  const server = await startTestServer(demo.handler, demo.options, { beforeMount: (stream) => demo.setup?.(stream) });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('response', (response) => {
    if (response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') failures.push(`console: ${message.text()}`);
  });
  await page.goto(`${server.url}/`);
  await page.waitForLoadState('networkidle');
  return { server, page };
}

/** The built-in page as a person first sees it: its icon, its labels, its layout on a wide screen. */
describe('browser: the built-in page at first sight', function () {
  this.timeout(60000);
  let browser: Browser;
  const servers: TestServer[] = [];

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('loads with no failed request and no console error: its icon is served (no 404 for /favicon.ico)', async () => {
    const failures: string[] = [];
    const { server, page } = await openDemo(browser, 'echo', failures);
    servers.push(server);
    expect(failures).to.deep.equal([]);
    const icon = await page.locator('link[rel="icon"]').getAttribute('href', { timeout: 2000 });
    const answer = await fetch(new URL(icon!, server.url));
    expect(answer.status).to.equal(200);
    expect(answer.headers.get('content-type')).to.equal('image/svg+xml');
  });

  it('labels the meter of what comes back "Reply", and the conference\'s "Room" (it is the room\'s mix)', async () => {
    for (const [name, label] of [['echo', 'Reply'], ['conference', 'Room']] as const) {
      const failures: string[] = [];
      const { server, page } = await openDemo(browser, name, failures);
      servers.push(server);
      expect(await page.locator('#meters .meter').nth(1).locator('span').textContent(), name).to.equal(label);
      expect(await page.locator('#level-out').getAttribute('aria-label'), name).to.equal(`${label} level`);
      expect(failures, name).to.deep.equal([]);
    }
  });

  it('at 1280 x 800, sits the card in the middle: no large empty area below it', async () => {
    const { server, page } = await openDemo(browser, 'conference', []);
    servers.push(server);
    await page.screenshot({ path: screenshotPath('page-1280x800.png') });
    const card = (await page.locator('main.card').boundingBox())!;
    const footer = (await page.locator('footer').boundingBox())!;
    const above = card.y;
    const below = 800 - (footer.y + footer.height);
    expect(below, `${below} px below the footer, ${above} px above the card`).to.be.at.most(above + 16);
    expect(card.width).to.be.at.least(440);
  });
});
