import { expect } from 'chai';
import { runCli } from '../support/cli.js';

/** Environment variables `serve` reads, emptied so that only the flags count. */
const CLEAN_ENV = { CALLSTREAM_HANDLER: '', HOST: '', PORT: '', PUBLIC_URL: '', CONCURRENCY_LIMIT: '', TIME_LIMIT: '', WEB_CONCURRENCY: '', REDIS_URL: '', INSTANCE_ID: '', DYNO: '' };

/** The message of a JSON log line. */
const message = (line: string) => (JSON.parse(line) as { msg: string }).msg;

/** Demo handlers with pages of their own say where they are when the demo server starts. */
describe('callstream serve: the desk and the conference say where to go', function () {
  this.timeout(30000);

  it('desk: logs the /desk URL, which answers with the desk page', async () => {
    const cli = runCli(['serve', '--handler', 'desk', '--host', '127.0.0.1', '--port', '0'], CLEAN_ENV);
    try {
      const said = message(await cli.waitForLine(/"msg":"desk: /));
      const url = /answer them at (http:\/\/127\.0\.0\.1:\d+\/desk)$/.exec(said)?.[1];
      expect(url, said).to.be.a('string');
      const page = await fetch(url!);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.contain('<title>Desk</title>');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  it('conference: logs the page, its Room field and the webhook URL that picks a room', async () => {
    const cli = runCli(['serve', '--handler', 'conference', '--host', '127.0.0.1', '--port', '0'], CLEAN_ENV);
    try {
      const listening = JSON.parse(await cli.waitForLine(/demo server listening/)) as { url: string };
      const lines = [message(await cli.waitForLine(/"msg":"conference: open /)), message(await cli.waitForLine(/"msg":"conference: a phone number/))];
      expect(lines[0]).to.equal(`conference: open ${listening.url}/ and name a room in its Room field (default "lobby"); everyone in a room hears everyone else`);
      expect(lines[1]).to.equal(`conference: a phone number whose voice webhook is ${listening.url}/telephone/incoming?room=NAME puts its callers in room NAME`);
      const page = await (await fetch(`${listening.url}/`)).text();
      expect(page).to.contain('"name":"room"');
      expect(page).to.contain('"label":"Room"');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });
});
