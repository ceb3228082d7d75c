import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('id oracle');

/** What a client hears: the status and the whole body. */
async function heard(response: Response): Promise<{ status: number; body: string }> {
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    // The owner's event stream: it lasts as long as the session.
    await response.body?.cancel();
    return { status: response.status, body: '' };
  }
  return { status: response.status, body: await response.text() };
}

/**
 * Each way of asking about a session without its secret, for a live id and for an unknown one: the
 * answers must not tell the two apart.
 */
function askers(url: string): Record<string, (id: string, secret: string | undefined) => Promise<{ status: number; body: string }>> {
  const secretHeader = (secret: string | undefined): Record<string, string> => (secret === undefined ? {} : { 'X-Callstream-Secret': secret });
  return {
    'GET /outputs': async (id, secret) => heard(await fetch(`${url}/outputs?webrtc_id=${id}${secret === undefined ? '' : `&secret=${secret}`}`)),
    'GET /outputs (header)': async (id, secret) => heard(await fetch(`${url}/outputs?webrtc_id=${id}`, { headers: secretHeader(secret) })),
    'POST /input_hook': async (id, secret) =>
      heard(await fetch(`${url}/input_hook`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...secretHeader(secret) }, body: JSON.stringify({ webrtc_id: id, name: 'Ada' }) })),
    'POST /input_hook (bad values)': async (id, secret) =>
      heard(await fetch(`${url}/input_hook`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...secretHeader(secret) }, body: JSON.stringify({ webrtc_id: id, name: 42 }) })),
  };
}

describe('security: /outputs and /input_hook tell no one whether an id is live', function () {
  this.timeout(20000);
  reportAfter('id oracle', counts);
  let cluster: TestCluster;
  let program: AudioSocket;
  let secret: string;
  const LIVE = 'oracle-live-1';

  before(async () => {
    cluster = await startCluster(() => new EchoHandler(), { kind: 'memory' }, { options: { additionalInputs: [{ name: 'name', type: 'text' }] } });
    program = new AudioSocket(cluster.instances[0]!.url);
    secret = ((await program.start(LIVE)).session as { secret: string }).secret;
  });

  after(async () => {
    program.close();
    await cluster.close();
  });

  for (const [where, index] of [['on the instance holding the session', 0], ['on another instance', 1]] as const) {
    it(`answers an unknown id exactly as a live id with a wrong or missing secret, ${where}`, async () => {
      for (const [route, ask] of Object.entries(askers(cluster.instances[index]!.url))) {
        const answers = {
          'unknown id, no secret': await ask('oracle-nobody', undefined),
          'unknown id, a secret': await ask('oracle-nobody', 'guessed-secret'),
          'live id, no secret': await ask(LIVE, undefined),
          'live id, wrong secret': await ask(LIVE, 'guessed-secret'),
          'live id, an empty secret': await ask(LIVE, ''),
        };
        const first = answers['unknown id, no secret'];
        expect(first.status, route).to.equal(403);
        for (const [what, answer] of Object.entries(answers)) {
          expect(answer, `${route}, ${what}`).to.deep.equal(first);
          count(counts, 'identical answers');
        }
        // The owner is served.
        expect((await ask(LIVE, secret)).status, `${route} with the secret`).to.be.oneOf([200, 422]);
      }
    });
  }
});
