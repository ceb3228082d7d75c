import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOCS = readdirSync(path.join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`)
  .sort();
const PAGES = ['README.md', ...DOCS];

function read(file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8');
}

/** Markdown outside code blocks (a link inside a code sample is not a link). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const headings = prose(read(file)).match(/^#{1,6} .+$/gm) ?? [];
  return new Set(headings.map((line) => slug(line.replace(/^#+ /, ''))));
}

/** Every link of a page: [text](target). */
function links(file: string): string[] {
  return [...prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
}

/** Every relative link of a page: [text](target) with no scheme. */
function relativeLinks(file: string): string[] {
  return links(file).filter((target) => !/^[a-z]+:/i.test(target));
}

/**
 * Where the packed README's links point: the repository's files on GitHub (package.json `repository`),
 * as npm's page shows the README without docs/ or examples/ beside it.
 */
const REPOSITORY_FILES = (() => {
  const { repository } = JSON.parse(read('package.json')) as { repository: { url: string } };
  return `${repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/blob/main/`;
})();

/** README's links as paths in the checkout: the repository's files, with their anchors (in-page anchors as README.md#...). */
function readmeTargets(): string[] {
  return links('README.md').map((target) => (target.startsWith('#') ? `README.md${target}` : target.startsWith(REPOSITORY_FILES) ? target.slice(REPOSITORY_FILES.length) : target));
}

/** README is the front door: every topic is one click away, and every link between pages lands. */
describe('docs: README and docs/ link to each other and every link lands', () => {
  it('has docs to check', () => {
    expect(DOCS.length).to.be.at.least(16);
  });

  it('links every docs/*.md from README', () => {
    const linked = new Set(readmeTargets().map((target) => target.split('#')[0]));
    expect(DOCS.filter((doc) => !linked.has(doc))).to.deep.equal([]);
  });

  it('README (the page npm shows, without docs/ beside it) links only to the repository\'s files or its own headings', () => {
    const elsewhere = links('README.md').filter((target) => !target.startsWith('#') && !target.startsWith(REPOSITORY_FILES) && !/^https:\/\/(?!github\.com\/callstream\/)/.test(target));
    expect(elsewhere).to.deep.equal([]);
  });

  it('README: every link to the repository names a file of the checkout, and a heading that exists', () => {
    const broken: string[] = [];
    for (const target of readmeTargets()) {
      if (/^[a-z]+:/i.test(target)) continue;
      const [file = '', anchor] = target.split('#');
      if (!existsSync(path.join(ROOT, file))) broken.push(`${target}: no file ${file}`);
      else if (anchor !== undefined && (!file.endsWith('.md') || !anchors(file).has(anchor))) broken.push(`${target}: no heading #${anchor} in ${file}`);
    }
    expect(broken).to.deep.equal([]);
  });

  it('starts every doc with a title, a one-line summary and a link back to the README', () => {
    for (const doc of DOCS) {
      const [title, blank, summary, blank2, back] = read(doc).split('\n');
      expect(title, doc).to.match(/^# \S/);
      expect([blank, blank2], doc).to.deep.equal(['', '']);
      expect(summary, doc).to.match(/^[A-Z`].*[.)]$/);
      expect(back, doc).to.contain('](../README.md)');
    }
  });

  for (const page of PAGES) {
    it(`${page}: every relative link names a file that exists, and a heading that exists`, () => {
      const broken: string[] = [];
      for (const target of relativeLinks(page)) {
        const [file = '', anchor] = target.split('#');
        const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
        if (!existsSync(path.join(ROOT, resolved))) {
          broken.push(`${target}: no file ${resolved}`);
        } else if (anchor !== undefined && (!resolved.endsWith('.md') || !anchors(resolved).has(anchor))) {
          broken.push(`${target}: no heading #${anchor} in ${resolved}`);
        }
      }
      expect(broken).to.deep.equal([]);
    });
  }
});
