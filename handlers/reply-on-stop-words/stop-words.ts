import { CallstreamError } from '../../src/index.js';

/** A stop word found in a transcript. */
export interface StopWordMatch {
  /** The stop word (or phrase) as it was configured. */
  stopWord: string;
  /** The words said after it, normalized (lower case, no punctuation), space-separated; '' when none. */
  after: string;
}

/**
 * Words of `text` as a matcher compares them: lower case, accents and apostrophes dropped, split
 * at anything that is not a letter or a digit ("OK, Computer!" → ["ok", "computer"]).
 */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['’]/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

/**
 * Finds stop words in transcripts as FastRTC does: case- and punctuation-insensitive, whole words
 * only ("computer" is not in "computers"), a phrase as consecutive words whatever separates them.
 */
export class StopWordMatcher {
  private readonly phrases: { stopWord: string; words: string[] }[];

  constructor(stopWords: readonly string[]) {
    this.phrases = stopWords.map((stopWord) => ({ stopWord, words: words(stopWord) }));
    const empty = this.phrases.find((phrase) => phrase.words.length === 0);
    if (this.phrases.length === 0 || empty) {
      const got = empty ? ` (got ${JSON.stringify(empty.stopWord)})` : '';
      throw new CallstreamError('CONFIG_ERROR', `stopWords must be a non-empty list of words or phrases${got}.`);
    }
  }

  /** The earliest stop word in `text`, with the words after it; undefined when there is none. */
  match(text: string): StopWordMatch | undefined {
    const said = words(text);
    let best: { stopWord: string; at: number; end: number } | undefined;
    for (const phrase of this.phrases) {
      const at = indexOfWords(said, phrase.words);
      if (at >= 0 && (best === undefined || at < best.at)) best = { stopWord: phrase.stopWord, at, end: at + phrase.words.length };
    }
    return best && { stopWord: best.stopWord, after: said.slice(best.end).join(' ') };
  }
}

function indexOfWords(said: string[], phrase: string[]): number {
  for (let i = 0; i + phrase.length <= said.length; i++) {
    if (phrase.every((word, k) => said[i + k] === word)) return i;
  }
  return -1;
}
