import { expect } from 'chai';
import { END, renderTable, replaceBetweenMarkers, type ResultFile, START } from '../../bench/table.js';

const telephone: ResultFile = {
  name: 'telephone',
  date: '2026-11-27T18:00:00.000Z',
  machine: { node: 'v20.20.2', cpu: 'AMD EPYC', cores: 2, platform: 'linux' },
  run: { seconds: 232.4, loadBefore: [2.36, 2.41, 2.9], loadAfter: [3.03, 2.81, 2.97] },
  title: 'CPU per echoed frame',
  figures: { 'CPU per frame at 100 calls (µs)': '35.6 / 36.1 / 37.9', 'calls held': 200 },
  baseline: { 'CPU per frame at 100 calls, bare (µs)': '23.5 / 24.8 / 26.1' },
  ratios: { 'bare / callstream': '0.65 / 0.69 / 0.70', 'single figure': 0.6923 },
  goals: { 'ratio ≥ 0.8': false, 'latency < 1 ms': true },
  notes: ['load: 2.36 | 3.10'],
};

const opus: ResultFile = {
  name: 'opus',
  date: '2026-11-27T18:05:00.000Z',
  machine: { node: 'v20.20.2', cpu: 'AMD EPYC', cores: 2, platform: 'linux' },
  title: 'Opus settings',
  figures: {},
  data: {
    chosen: 'voip, complexity 6',
    current: 'voip, complexity 6',
    rows: [{ label: 'voip, complexity 6', encodeUs: [150.2, 161.4, 149.9], codecUs: [180, 190, 200], kbps: 47.46, coded: 'hybrid FB 100 %', clean: { mcdDb: 6.2, lsdDb: 3.02 }, lossy: { mcdDb: 7.09, lsdDb: 3.25 }, concealed: { mcdDb: 9.51, lsdDb: 3.71 } }],
  },
};

describe('bench table (docs/benchmarks.md from bench/results/*.json)', () => {
  it('renders results as Markdown: scenarios in order, machine and load, figures, baselines, ratios, goals, notes', () => {
    expect(renderTable([opus, telephone])).to.equal(
      [
        'Scenarios: telephone, opus (no results for webrtc, cluster, rooms, pacing, audio, memory, vad, video). Spreads are min / median / max over a scenario\'s runs.',
        '',
        '### telephone: CPU per echoed frame',
        '',
        '2026-11-27 18:00 UTC on AMD EPYC, 2 cores, Node v20.20.2; took 232 s; load average (1 / 5 / 15 min) 2.36 / 2.41 / 2.90 before, 3.03 / 2.81 / 2.97 after.',
        '',
        '| | measure | value |',
        '|---|---|---|',
        '| figure | CPU per frame at 100 calls (µs) | 35.6 / 36.1 / 37.9 |',
        '| figure | calls held | 200 |',
        '| baseline | CPU per frame at 100 calls, bare (µs) | 23.5 / 24.8 / 26.1 |',
        '| ratio | bare / callstream | 0.65 / 0.69 / 0.70 |',
        '| ratio | single figure | 0.692 |',
        '',
        'Goals:',
        '',
        '- **not met**: ratio ≥ 0.8',
        '- met: latency < 1 ms',
        '',
        'Notes:',
        '',
        '- load: 2.36 | 3.10',
        '',
        '### opus: Opus settings',
        '',
        '2026-11-27 18:05 UTC on AMD EPYC, 2 cores, Node v20.20.2.',
        '',
        'Every setting (chosen: voip, complexity 6; callstream\'s default: voip, complexity 6); distances MCD / LSD in dB, lower is better:',
        '',
        '| setting | encode µs | encode + decode µs | kbit/s, coded as | clean | 5 % loss, FEC recovered | 5 % loss, concealed |',
        '|---|---|---|---|---|---|---|',
        '| voip, complexity 6 | 150 / 150 / 161 | 180 / 190 / 200 | 47.5, hybrid FB 100 % | 6.20 / 3.02 | 7.09 / 3.25 | 9.51 / 3.71 |',
        '',
      ].join('\n'),
    );
  });

  it('replaces only what lies between the markers, and refuses a document without them', () => {
    const doc = `# Benchmarks\n\nbefore\n${START}\nold table\n${END}\nafter\n`;
    expect(replaceBetweenMarkers(doc, 'new table\n')).to.equal(`# Benchmarks\n\nbefore\n${START}\nnew table\n${END}\nafter\n`);
    expect(() => replaceBetweenMarkers('# Benchmarks\n', 'x')).to.throw(/markers/);
  });
});
