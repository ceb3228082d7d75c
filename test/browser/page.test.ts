import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { EchoHandler } from '../../handlers/index.js';
import { AdditionalOutputs } from '../../src/session/emit.js';
import type { StreamHandler } from '../../src/session/handler.js';
import { launchChromium, screenshotPath } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface AudioStats {
  connection: string;
  packetsReceived: number;
  totalAudioEnergy: number;
  codec: string;
}

/** Reads the page's own WebRTC stats: what the browser received from callstream. */
async function audioStats(page: Page): Promise<AudioStats> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { callstream: { pc: RTCPeerConnection | null } }).callstream.pc;
    if (!pc) return { connection: 'none', packetsReceived: 0, totalAudioEnergy: 0, codec: '' };
    const report = await pc.getStats();
    let packetsReceived = 0;
    let totalAudioEnergy = 0;
    let codecId = '';
    const codecs = new Map<string, string>();
    report.forEach((stat: Record<string, unknown>) => {
      if (stat.type === 'inbound-rtp' && stat.kind === 'audio') {
        packetsReceived = Number(stat.packetsReceived ?? 0);
        totalAudioEnergy = Number(stat.totalAudioEnergy ?? 0);
        codecId = String(stat.codecId ?? '');
      }
      if (stat.type === 'codec') codecs.set(String(stat.id), String(stat.mimeType));
    });
    return { connection: pc.connectionState, packetsReceived, totalAudioEnergy, codec: codecs.get(codecId) ?? '' };
  });
}

/** Collects what the browser refuses under the page's Content-Security-Policy (reported on the console). */
function policyViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

describe('the built-in page in headless Chromium', function () {
  this.timeout(60000);
  let browser: Browser;
  let server: TestServer;

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    server = await startTestServer(new EchoHandler(), {
      // Levels are measured: no echo cancellation or gain control on the fake microphone.
      trackConstraints: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      uiArgs: { title: 'Echo test', subtitle: 'Say something and hear it back.' },
    });
  });

  afterEach(async () => {
    await server.close();
  });

  it('starts a call with Opus, hears the echo, and ends it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const violations = policyViolations(page);
    await page.goto(`${server.url}/`);
    expect(await page.title()).to.equal('Echo test');
    expect(await page.textContent('#state')).to.equal('Idle');
    await page.screenshot({ path: screenshotPath('page-idle-desktop.png') });

    await page.click('#call');
    await page.waitForSelector('body[data-state="live"]', { timeout: 15000 });
    // Poll the page's own stats (waitForFunction would treat an async predicate's promise as truthy).
    let stats = await audioStats(page);
    const until = Date.now() + 15000;
    while (!(stats.totalAudioEnergy > 0 && stats.packetsReceived > 50) && Date.now() < until) {
      await page.waitForTimeout(250);
      stats = await audioStats(page);
    }
    expect(stats.connection).to.equal('connected');
    expect(stats.packetsReceived).to.be.greaterThan(20);
    expect(stats.totalAudioEnergy).to.be.greaterThan(0);
    expect(stats.codec.toLowerCase()).to.equal('audio/opus');
    expect((await server.stream.status()).active.webrtc).to.equal(1);
    expect(await page.isVisible('#keypad')).to.equal(true);
    await page.screenshot({ path: screenshotPath('page-live-desktop.png') });

    await page.setViewportSize({ width: 375, height: 812 });
    await page.screenshot({ path: screenshotPath('page-live-375.png'), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, 'no horizontal scrolling at 375 px').to.be.at.most(0);

    await page.click('#call');
    await page.waitForSelector('body[data-state="ended"]');
    const deadline = Date.now() + 5000;
    while ((await server.stream.status()).total > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await server.stream.status()).total).to.equal(0);
    expect(violations, 'Content-Security-Policy violations').to.deep.equal([]);
    await page.close();
  });

  it('sends keypad digits as DTMF and shows the limit error', async () => {
    await server.close();
    const digits: string[] = [];
    server = await startTestServer({ inputFormat: 'native', receive: (f, ctx) => ctx.send(f), onDtmf: (d: string) => void digits.push(d) }, { concurrencyLimit: 1 });
    const first = await browser.newPage();
    await first.goto(`${server.url}/`);
    await first.click('#call');
    await first.waitForSelector('body[data-state="live"]', { timeout: 15000 });
    await first.click('#keypad button[data-digit="7"]');
    await first.keyboard.press('#');
    const deadline = Date.now() + 5000;
    while (digits.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(digits).to.deep.equal(['7', '#']);

    const second = await browser.newPage({ viewport: { width: 375, height: 812 } });
    await second.goto(`${server.url}/`);
    await second.click('#call');
    await second.waitForSelector('body[data-state="error"]', { timeout: 15000 });
    expect(await second.textContent('#error')).to.match(/busy \(1 session at once\)/);
    expect(await second.isVisible('#keypad'), 'no keypad without a call').to.equal(false);
    await second.screenshot({ path: screenshotPath('page-error-375.png'), fullPage: true });
    await first.close();
    await second.close();
  });

  it('renders inputs, posts a change, and shows the handler\'s output', async () => {
    await server.close();
    const greeter: StreamHandler = {
      inputFormat: 'native',
      receive: (frame, ctx) => ctx.send(frame),
      startUp(ctx) {
        ctx.on('inputs', (values) => {
          if (values.name) ctx.send(new AdditionalOutputs(`Hello, ${String(values.name)}!`));
        });
      },
    };
    server = await startTestServer(greeter, {
      additionalInputs: [
        { name: 'name', type: 'text', label: 'Your name', default: '' },
        { name: 'voice', type: 'select', label: 'Voice', choices: ['alto', 'bass'] },
      ],
      additionalOutputs: [{ label: 'Greeting' }],
      uiArgs: { title: 'Greeter' },
    });
    const page = await browser.newPage({ viewport: { width: 375, height: 900 } });
    const violations = policyViolations(page);
    await page.goto(`${server.url}/`);
    expect(await page.isVisible('#input-name')).to.equal(true);
    expect(await page.textContent('#inputs')).to.contain('Your name');
    await page.click('#call');
    await page.waitForSelector('body[data-state="live"]', { timeout: 15000 });
    await page.fill('#input-name', 'Ada');
    await page.dispatchEvent('#input-name', 'change');
    await page.waitForFunction(() => document.querySelector('#outputs')?.textContent?.includes('Hello, Ada!'), undefined, { timeout: 10000 });
    expect(await page.textContent('#outputs')).to.contain('Greeting');
    await page.screenshot({ path: screenshotPath('page-inputs-outputs-375.png'), fullPage: true });
    const session = server.stream.directory.sessions()[0]!;
    expect(session.inputs).to.deep.equal({ name: 'Ada', voice: 'alto' });
    expect(violations, 'Content-Security-Policy violations').to.deep.equal([]);
    await page.close();
  });
});
