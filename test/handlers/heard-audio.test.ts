import { expect } from 'chai';
import { HeardAudio } from '../../handlers/openai-realtime/heard-audio.js';

describe('openaiRealtime: what the caller heard of each item', () => {
  it('maps the unplayed audio of an interruption to the item being played', () => {
    const heard = new HeardAudio();
    heard.add('a', 1000);
    heard.add('b', 600);
    heard.add('b', 400);
    // 1.3 s played of 2 s queued: all of a, 300 ms of b.
    expect(heard.cut(700)).to.deep.equal([{ itemId: 'b', heardMs: 300, sentMs: 1000 }]);
  });

  it('cuts later items at 0, and an item still coming even when all of it was heard', () => {
    const heard = new HeardAudio();
    heard.add('a', 500);
    heard.add('b', 500);
    expect(heard.cut(600)).to.deep.equal([
      { itemId: 'a', heardMs: 400, sentMs: 500 },
      { itemId: 'b', heardMs: 0, sentMs: 500 },
    ]);
    heard.add('c', 200);
    expect(heard.cut(0, (id) => id === 'c')).to.deep.equal([{ itemId: 'c', heardMs: 200, sentMs: 200 }]);
  });

  it('continues from what was heard after a cut, as playback does', () => {
    const heard = new HeardAudio();
    heard.add('a', 1000);
    heard.cut(400); // 600 ms heard; the other 400 ms were dropped
    heard.add('b', 800);
    expect(heard.cut(300)).to.deep.equal([{ itemId: 'b', heardMs: 500, sentMs: 800 }]);
  });

  it('forgets items known to be played, keeping what a cut needs', () => {
    const heard = new HeardAudio();
    for (let i = 0; i < 20; i++) {
      heard.add(`item${i}`, 100);
      heard.allPlayed();
    }
    expect(heard.unconfirmedMs).to.equal(0);
    heard.add('last', 100);
    expect(heard.cut(50)).to.deep.equal([{ itemId: 'last', heardMs: 50, sentMs: 100 }]);
    expect(heard.cut(1000)).to.deep.equal([], 'an interruption with nothing queued cuts nothing');
  });
});
