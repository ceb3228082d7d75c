import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { demoHandler } from '../../handlers/index.js';
import type { AudioHandler } from '../../src/session/handler.js';
import type { StreamOptions } from '../../src/options.js';
import { launchChromium, screenshotPath } from '../support/browser.js';
import { heardInPage, toneWav } from '../support/browser-audio.js';
import { decodeDtmf } from '../support/goertzel.js';
import { dialTestServer, startTestServer, type TestServer } from '../support/server.js';
import { decodeMulaw, lastMs, mulawToneFrame, toneLevels } from '../support/tones.js';
import type { TwilioMediaStream } from '../support/twilio-call.js';
import { heardSince, keyIn, peakLevel, startConference } from '../support/room-clients.js';
import { sendPaced, sleep, waitUntil } from '../support/wait.js';

/** What the browser's fake microphone plays (a WAV looped by Chromium). */
const BROWSER_HZ = 1000;
/** What the phone sends. */
const PHONE_HZ = 600;
const DESK_TOKEN = 'desk-access-token-7c2e94b0a1';
const MEASURED = { trackConstraints: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } };

/** A demo's Stream on a test server (its pages added before mount). */
function startDemo(name: string, options: StreamOptions = {}): Promise<TestServer> {
  const demo = demoHandler(name);
  let setup: ((stream: Parameters<NonNullable<typeof demo.setup>>[0]) => void) | undefined = demo.setup;
  return startTestServer(demo.handler as AudioHandler, { ...demo.options, ...MEASURED, ...options }, { beforeMount: (stream) => setup?.(stream) });
}

function policyViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

/** The phone keeps talking (its tone, 20 ms frames) until `stop()`. */
function keepTalking(call: TwilioMediaStream, frequency: number): { stop(): void } {
  let i = 0;
  let running = true;
  void (async () => {
    while (running && call.isOpen) await sendPaced(10, () => call.sendMedia(mulawToneFrame(frequency, i++)));
  })();
  return { stop: () => (running = false) };
}

async function phoneHears(call: TwilioMediaStream, frequencies: number[], ms = 800): Promise<Record<number, number>> {
  const from = call.media.length;
  await sleep(ms);
  return toneLevels(decodeMulaw(Buffer.concat(call.media.slice(from).map((m) => m.bytes))), 8000, frequencies);
}

describe('rooms in headless Chromium', function () {
  this.timeout(90000);
  let browser: Browser;
  let server: TestServer | undefined;
  const calls: TwilioMediaStream[] = [];

  before(async () => {
    browser = await launchChromium([`--use-file-for-fake-audio-capture=${toneWav(BROWSER_HZ)}`]);
  });

  after(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    for (const call of calls.splice(0)) call.close();
    await server?.close();
    server = undefined;
  });

  async function dial(params: Record<string, string> = {}): Promise<TwilioMediaStream> {
    const call = await dialTestServer(server!, params);
    calls.push(call);
    return call;
  }

  it('conference: the built-in page and a phone call in one room hear each other, neither itself', async () => {
    server = await startDemo('conference');
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const violations = policyViolations(page);
    await page.goto(`${server.url}/`);
    expect(await page.textContent('h1')).to.equal('Conference');
    await page.click('#call');
    await page.waitForSelector('body[data-state="live"]', { timeout: 15000 });
    await waitUntil(() => server!.stream.rooms.get('lobby')?.size === 1, 10000, 'the browser in the lobby');
    const call = await dial();
    await waitUntil(() => server!.stream.rooms.get('lobby')?.size === 2, 5000, 'the phone in the lobby');
    const talking = keepTalking(call, PHONE_HZ);
    await sleep(600);
    const inBrowser = await heardInPage(page, 'window.callstream.pc', [PHONE_HZ, BROWSER_HZ]);
    const onPhone = await phoneHears(call, [PHONE_HZ, BROWSER_HZ]);
    talking.stop();
    expect(inBrowser[PHONE_HZ]! - inBrowser[BROWSER_HZ]!, `the browser hears the phone, not itself (dB ${JSON.stringify(inBrowser)})`).to.be.above(20);
    expect(onPhone[BROWSER_HZ], 'the phone hears the browser').to.be.above(1000);
    expect(onPhone[PHONE_HZ], 'the phone does not hear itself').to.be.below(onPhone[BROWSER_HZ]! / 20);
    expect(await page.textContent('#messages')).to.match(/joined/);
    await page.screenshot({ path: screenshotPath('conference-page-desktop.png') });
    expect(violations).to.deep.equal([]);
    await page.close();
  });

  it('conference with CALLSTREAM_ROOM_PIN: the page shows an empty PIN field; with a wrong PIN it hears nothing of the caller, with the right one both hear each other', async () => {
    server = await startConference({ CALLSTREAM_ROOM_PIN: '246810' }, MEASURED);
    const call = await dial({ room: 'sales', From: '+15550100009' });
    await waitUntil(() => peakLevel(heardSince(call), 990) > 1000, 5000, 'the PIN prompt');
    await keyIn(call, '246810#');
    await waitUntil(() => server!.stream.rooms.get('sales')?.size === 1, 5000, 'the caller in sales');
    const talking = keepTalking(call, PHONE_HZ);
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const violations = policyViolations(page);
    await page.goto(`${server.url}/`);
    expect(await page.inputValue('#input-pin'), 'the PIN field starts empty').to.equal('');
    await page.fill('#input-room', 'sales');
    await page.fill('#input-pin', '111111');
    await page.click('#call');
    await page.waitForSelector('body[data-state="live"]', { timeout: 15000 });
    await page.waitForSelector('#messages >> text=Wrong PIN', { timeout: 10000 });
    const stranger = await heardInPage(page, 'window.callstream.pc', [PHONE_HZ]);
    expect(server.stream.rooms.get('sales')!.size, 'the page is not in the room').to.equal(1);
    expect(stranger[PHONE_HZ], `the page hears nothing of the caller (dB ${JSON.stringify(stranger)})`).to.be.below(-70);
    await page.fill('#input-pin', '246810');
    await page.press('#input-pin', 'Enter');
    await waitUntil(() => server!.stream.rooms.get('sales')?.size === 2, 10000, 'the page in sales');
    await sleep(600);
    const inBrowser = await heardInPage(page, 'window.callstream.pc', [PHONE_HZ, BROWSER_HZ]);
    const onPhone = await phoneHears(call, [PHONE_HZ, BROWSER_HZ]);
    talking.stop();
    expect(inBrowser[PHONE_HZ]! - inBrowser[BROWSER_HZ]!, `the page hears the caller (dB ${JSON.stringify(inBrowser)})`).to.be.above(20);
    expect(onPhone[BROWSER_HZ], 'the caller hears the page').to.be.above(1000);
    const messages = await page.textContent('#messages');
    expect(messages).to.include('with caller …0009 (telephone)');
    expect(messages).to.not.include('+15550100009');
    await page.screenshot({ path: screenshotPath('conference-pin-page-desktop.png') });
    expect(violations).to.deep.equal([]);
    await page.close();
  });

  it('desk: lists waiting callers live, answers one from the page (bridged both ways, keypad digits to the caller), either side hangs up', async () => {
    // Behind the access token: each page opens the desk once with it in the link; its cookie carries the rest.
    server = await startDemo('desk', { accessToken: DESK_TOKEN });
    const mobile = await browser.newPage({ viewport: { width: 375, height: 812 } });
    const desktop = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const violations = [...policyViolations(mobile), ...policyViolations(desktop)];
    violations.push(...policyViolations(desktop));
    await mobile.goto(`${server.url}/desk?token=${DESK_TOKEN}`);
    await desktop.goto(`${server.url}/desk?token=${DESK_TOKEN}`);
    expect([mobile.url(), desktop.url()]).to.deep.equal([`${server.url}/desk`, `${server.url}/desk`]);
    await mobile.waitForSelector('#feed[data-state="live"]');
    expect(await mobile.isVisible('#empty')).to.equal(true);

    // Two callers come in: both pages list them, live, with their numbers.
    const first = await dial({ From: '+15550100001' });
    await mobile.waitForSelector('.caller[data-state="waiting"] >> text=+15550100001', { timeout: 5000 });
    const second = await dial({ From: '+15550100002' });
    await desktop.waitForSelector('.caller >> text=+15550100002', { timeout: 5000 });
    expect(await desktop.locator('.caller').count()).to.equal(2);
    expect(await mobile.textContent('#count')).to.equal('2');
    // They hear the hold sound meanwhile.
    expect((await phoneHears(first, [440], 2200))[440], 'the hold sound').to.be.above(50);
    await sleep(1100); // wait times tick on the page
    expect(await mobile.textContent('.caller[data-id] .wait')).to.match(/^0:0[2-9]$/);
    await mobile.screenshot({ path: screenshotPath('desk-queue-375.png'), fullPage: true });
    await desktop.screenshot({ path: screenshotPath('desk-queue-desktop.png') });
    const noOverflow = await mobile.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(noOverflow, 'no horizontal scrolling at 375 px').to.be.at.most(0);

    // The mobile page answers the first caller.
    await mobile.click('.caller:has-text("+15550100001") .answer');
    await mobile.waitForSelector('#state[data-state="live"]', { timeout: 15000 });
    await waitUntil(() => server!.stream.rooms.list().length === 1 && server!.stream.rooms.list()[0]!.participants.length === 2, 5000, 'the caller and the page bridged');
    await desktop.waitForSelector('.caller:has-text("+15550100001") >> text=On a call', { timeout: 5000 });
    const talking = keepTalking(first, PHONE_HZ);
    await sleep(600);
    const inPage = await heardInPage(mobile, 'window.desk.call.pc', [PHONE_HZ, BROWSER_HZ]);
    const onPhone = await phoneHears(first, [PHONE_HZ, BROWSER_HZ, 440]);
    expect(inPage[PHONE_HZ]! - inPage[BROWSER_HZ]!, `the page hears the caller (dB ${JSON.stringify(inPage)})`).to.be.above(20);
    expect(onPhone[BROWSER_HZ], 'the caller hears the page (its microphone has noise suppression on)').to.be.above(300);
    expect(onPhone[PHONE_HZ], 'not itself').to.be.below(onPhone[BROWSER_HZ]! / 20);
    expect(onPhone[440], 'the hold sound stopped').to.be.below(onPhone[BROWSER_HZ]! / 20);
    talking.stop();

    // The keypad plays a digit to the caller.
    const heardFrom = first.media.length;
    await mobile.click('#keypad button[data-digit="5"]');
    await sleep(600);
    const tones = decodeMulaw(Buffer.concat(first.media.slice(heardFrom).map((m) => m.bytes)));
    expect(decodeDtmf(tones, 8000), 'the caller hears the digit').to.equal('5');
    await mobile.screenshot({ path: screenshotPath('desk-call-375.png'), fullPage: true });

    // The desktop page answers the second caller; the page hangs up: the call ends.
    await desktop.click('.caller:has-text("+15550100002") .answer');
    await desktop.waitForSelector('#state[data-state="live"]', { timeout: 15000 });
    await desktop.screenshot({ path: screenshotPath('desk-call-desktop.png') });
    await desktop.click('#hangup');
    expect((await second.closed).code, 'the caller is hung up on').to.equal(1000);

    // The first caller hangs up: the mobile page goes back to the (now empty) list.
    first.sendStop();
    await mobile.waitForSelector('#call', { state: 'hidden', timeout: 10000 });
    await mobile.waitForSelector('#empty', { state: 'visible', timeout: 5000 });
    await waitUntil(() => server!.stream.rooms.list().length === 0 && server!.stream.directory.size === 0, 10000, 'every session and room gone');
    expect(violations).to.deep.equal([]);
    await mobile.close();
    await desktop.close();
  });

  it('desk: the page, its feed and its answers are guarded by authorize; a ticket nobody issued is refused', async () => {
    server = await startDemo('desk', { authorize: (ctx) => ctx.get('x-desk-key') === 'open sesame' });
    for (const [method, path] of [['GET', '/desk'], ['GET', '/desk/events'], ['POST', '/desk/answer'], ['GET', '/desk/static/desk.js']] as const) {
      expect((await fetch(`${server.url}${path}`, { method })).status, `${method} ${path}`).to.equal(401);
    }
    const headers = { 'x-desk-key': 'open sesame' };
    const page = await fetch(`${server.url}/desk`, { headers });
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-security-policy')).to.contain("script-src 'self'");
    expect(await page.text()).to.not.match(/<script>(?!\s*$)/);
    const answer = await fetch(`${server.url}/desk/answer`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ caller: 'nobody' }) });
    expect(answer.status).to.equal(409);
    expect(await answer.json()).to.deep.equal({ error: 'gone' });
  });
});
