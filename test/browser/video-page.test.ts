import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { invert } from '../../handlers/index.js';
import { launchChromium, screenshotPath } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

/** Mean RGB of a playing <video>, read in the page through a canvas. */
function meanColor(page: Page, selector: string): Promise<[number, number, number] | undefined> {
  return page.evaluate((sel) => {
    const video = document.querySelector(sel) as HTMLVideoElement | null;
    if (!video || video.videoWidth === 0 || video.readyState < 2) return undefined;
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext('2d')!;
    context.drawImage(video, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let r = 0, g = 0, b = 0;
    for (let i = 0; i < data.length; i += 4) {
      r += data[i]!; g += data[i + 1]!; b += data[i + 2]!;
    }
    const n = data.length / 4;
    return [r / n, g / n, b / n] as [number, number, number];
  }, selector);
}

describe('the built-in page with a video handler (headless Chromium, fake camera)', function () {
  this.timeout(60000);
  let browser: Browser;
  let server: TestServer;

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer(invert, { modality: 'video', uiArgs: { title: 'Invert' } });
  });

  after(async () => {
    await server?.close();
    await browser?.close();
  });

  it('shows the camera and the returned video with inverted colours', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/`);
    expect(await page.isVisible('#remote')).to.equal(true);
    expect(await page.isVisible('#level-in'), 'no audio meters on a video-only stream').to.equal(false);
    await page.click('#call');
    await page.waitForSelector('body[data-state="live"]', { timeout: 15000 });
    let local: [number, number, number] | undefined;
    let remote: [number, number, number] | undefined;
    await waitUntil(async () => {
      local = await meanColor(page, '#local');
      remote = await meanColor(page, '#remote');
      return Boolean(local && remote && Math.abs(remote[1] - (255 - local[1])) < 30);
    }, 20000, 'the inverted video').catch(() => undefined); // the expectations below say what was seen
    expect(local, 'the local preview plays').to.not.equal(undefined);
    expect(remote, 'the returned video plays').to.not.equal(undefined);
    for (let c = 0; c < 3; c++) expect(remote![c], `channel ${c}: ${remote} vs ${local}`).to.be.closeTo(255 - local![c]!, 30);
    await page.waitForTimeout(500); // kept: a few more frames painted for the screenshot (cosmetic)
    await page.screenshot({ path: screenshotPath('video-invert-desktop.png') });
    await page.setViewportSize({ width: 375, height: 900 });
    await page.screenshot({ path: screenshotPath('video-invert-375.png'), fullPage: true });
    await page.click('#call');
    await page.waitForSelector('body[data-state="ended"]');
    await page.close();
  });
});
