import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { EchoHandler } from '../../handlers/index.js';
import { AdditionalOutputs } from '../../src/session/emit.js';
import type { StreamHandler } from '../../src/session/handler.js';
import { launchChromium, screenshotPath } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

interface AudioStats {
  connection: string;
  /** Packets the browser sent (its microphone) and received (the echo). */
  packetsSent: number;
  packetsReceived: number;
  /** The echo as played: WebRTC's total audio energy (sum of level² × seconds) and its seconds. */
  echoEnergy: number;
  echoSeconds: number;
  /** The microphone (the fake device's beeps) as captured, the same way. */
  micEnergy: number;
  micSeconds: number;
  codec: string;
}

/** Reads the page's own WebRTC stats: what the browser sent to callstream and received back. */
async function audioStats(page: Page): Promise<AudioStats> {
  return page.evaluate(async () => {
    const stats = { connection: 'none', packetsSent: 0, packetsReceived: 0, echoEnergy: 0, echoSeconds: 0, micEnergy: 0, micSeconds: 0, codec: '' };
    const pc = (window as unknown as { callstream: { pc: RTCPeerConnection | null } }).callstream.pc;
    if (!pc) return stats;
    const report = await pc.getStats();
    let codecId = '';
    const codecs = new Map<string, string>();
    report.forEach((stat: Record<string, unknown>) => {
      if (stat.kind !== 'audio' && stat.type !== 'codec') return;
      if (stat.type === 'inbound-rtp') {
        stats.packetsReceived = Number(stat.packetsReceived ?? 0);
        stats.echoEnergy = Number(stat.totalAudioEnergy ?? 0);
        stats.echoSeconds = Number(stat.totalSamplesDuration ?? 0);
        codecId = String(stat.codecId ?? '');
      }
      if (stat.type === 'outbound-rtp') stats.packetsSent = Number(stat.packetsSent ?? 0);
      if (stat.type === 'media-source') {
        stats.micEnergy = Number(stat.totalAudioEnergy ?? 0);
        stats.micSeconds = Number(stat.totalSamplesDuration ?? 0);
      }
      if (stat.type === 'codec') codecs.set(String(stat.id), String(stat.mimeType));
    });
    return { ...stats, connection: pc.connectionState, codec: codecs.get(codecId) ?? '' };
  });
}

/** Mean power (level²) between two readings of a total energy and its duration. */
function meanPower(energy: number, seconds: number): number {
  return seconds > 0 ? energy / seconds : 0;
}

/** Collects what the browser refuses under the page's Content-Security-Policy (reported on the console). */
function policyViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

const PAGE_TOKEN = 'page-access-token-3f9a61c2d8';

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
    let first = await audioStats(page);
    await waitUntil(async () => (first = await audioStats(page)).packetsReceived > 0, 15000, 'the first echoed packet');
    const session = server.stream.directory.sessions()[0]!;
    const framesInBefore = session.framesIn;
    const serverSentBefore = session.transportStats().packetsSent ?? 0;
    // Two seconds of call (100 packets back) to measure over.
    let stats = first;
    await waitUntil(async () => (stats = await audioStats(page)).packetsReceived - first.packetsReceived >= 100, 15000, '100 more echoed packets');
    expect(stats.connection).to.equal('connected');
    expect(stats.codec.toLowerCase()).to.equal('audio/opus');
    expect((await server.stream.status()).active.webrtc).to.equal(1);
    // Audio flowed both ways meanwhile: the browser sent and the session heard, the session sent and the browser received.
    expect(stats.packetsSent - first.packetsSent, 'packets the browser sent').to.be.at.least(80);
    expect(session.framesIn - framesInBefore, 'frames the session heard').to.be.at.least(80);
    expect((session.transportStats().packetsSent ?? 0) - serverSentBefore, 'packets the session sent').to.be.at.least(80);
    // What came back is the microphone's sound, at its level: an echo of silence or noise would not be.
    const mic = meanPower(stats.micEnergy - first.micEnergy, stats.micSeconds - first.micSeconds);
    const echo = meanPower(stats.echoEnergy - first.echoEnergy, stats.echoSeconds - first.echoSeconds);
    expect(mic, 'the fake microphone\'s level').to.be.greaterThan(1e-4);
    expect(echo / mic, 'the echo\'s level against the microphone\'s').to.be.within(0.3, 3);
    expect(await page.isVisible('#keypad')).to.equal(true);
    await page.screenshot({ path: screenshotPath('page-live-desktop.png') });

    await page.setViewportSize({ width: 375, height: 812 });
    await page.screenshot({ path: screenshotPath('page-live-375.png'), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, 'no horizontal scrolling at 375 px').to.be.at.most(0);

    await page.click('#call');
    await page.waitForSelector('body[data-state="ended"]');
    await waitUntil(async () => (await server.stream.status()).total === 0, 5000, 'the session freed');
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
    await waitUntil(() => digits.length >= 2, 5000, 'two digits');
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

  it('renders inputs, posts a change, and shows the handler\'s output (behind an access token, opened once by a link)', async () => {
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
      accessToken: PAGE_TOKEN,
    });
    const page = await browser.newPage({ viewport: { width: 375, height: 900 } });
    const violations = policyViolations(page);
    // The link carries the token once: the cookie it sets carries the page's own requests (assets,
    // configuration, offer, input hook, outputs), and the address bar keeps no token.
    await page.goto(`${server.url}/?token=${PAGE_TOKEN}`);
    expect(page.url()).to.equal(`${server.url}/`);
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
