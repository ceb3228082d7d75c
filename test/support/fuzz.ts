import fc from 'fast-check';

/**
 * fast-check arbitraries for malformed input: random bytes, truncated and deeply nested JSON, huge
 * strings, wrong types, mangled SDP and bogus ICE candidates. Every network address they produce is
 * on loopback (werift sends STUN checks to the candidates it is given) and no host name can appear
 * (no DNS or mDNS look-ups).
 */

/** Runs per fuzz target: `fallback`, or FUZZ_RUNS for a heavier run by hand (`FUZZ_RUNS=5000 npx mocha test/reliability`). */
export function fuzzRuns(fallback: number): number {
  const runs = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : fallback;
}

/** Random bytes (any UTF-8 validity). */
export const randomBytes = fc.uint8Array({ maxLength: 3000 }).map((bytes) => Buffer.from(bytes));

/** Random text, including any Unicode. */
export const junkText = fc.string({ unit: 'binary', maxLength: 300 });

/** A prefix of `text` (never the whole of it). */
export function truncated(text: string): fc.Arbitrary<string> {
  return fc.integer({ min: 0, max: text.length - 1 }).map((end) => text.slice(0, end));
}

/** JSON nested thousands deep: arrays, objects, or never closed. */
export const deepNesting = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('array', 'object', 'open'))
  .map(([depth, kind]) =>
    kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : kind === 'object' ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '[{"a":'.repeat(depth),
  );

/** A string from 1 KiB to beyond every limit (64 KiB bodies and WebSocket messages). */
export const hugeString = fc.integer({ min: 1000, max: 90_000 }).map((n) => 'A'.repeat(n));

/** Any JSON-able value of the wrong type where a string or object is expected. */
export const wrongType = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, '', [], {}, [1, 2], { a: 1 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Text without whitespace, from a small alphabet that cannot spell `.local` (no mDNS look-ups). */
export const token = fc.string({ unit: fc.constantFrom(...'abcxyzABC0129+/=-_:#%'.split('')), maxLength: 16 });

const loopback = fc.constantFrom('127.0.0.1', '127.0.0.2', '127.3.4.5');
const intOrJunk = (min: number, max: number) => fc.oneof(fc.integer({ min, max }).map(String), token);

/** `candidate:...` lines with fuzzed fields (loopback addresses only), or mangled ones. */
export const candidateLine = fc.oneof(
  fc
    .tuple(
      token,
      intOrJunk(-1, 300),
      fc.constantFrom('udp', 'UDP', 'tcp', 'sctp', 'x'),
      intOrJunk(-5, 2 ** 33),
      loopback,
      intOrJunk(-1, 70_000),
      fc.constantFrom('typ', 'type', ''),
      fc.constantFrom('host', 'srflx', 'relay', 'prflx', 'bogus', ''),
      fc.array(token, { maxLength: 4 }),
    )
    .map(([foundation, component, protocol, priority, address, port, typ, type, extra]) =>
      `candidate:${foundation} ${component} ${protocol} ${priority} ${address} ${port} ${typ} ${type} ${extra.join(' ')}`.trim(),
    ),
  token.map((t) => `candidate:${t}`),
  token,
);

/** A trickled candidate as FastRTC's body carries it: a candidate init, or a value of the wrong shape. */
export const candidateInit = fc.oneof(
  fc.record(
    {
      candidate: candidateLine,
      sdpMid: fc.oneof(fc.constantFrom('0', '1', ''), token, wrongType),
      sdpMLineIndex: fc.oneof(fc.integer({ min: -2, max: 5 }), wrongType),
      usernameFragment: fc.oneof(token, wrongType),
    },
    { requiredKeys: ['candidate'] },
  ),
  wrongType,
);

/** One bogus SDP line (loopback addresses only). */
const sdpLine = fc.oneof(
  token.map((t) => `a=${t}`),
  fc.tuple(intOrJunk(-1, 300), token, intOrJunk(-1, 100_000)).map(([pt, name, rate]) => `a=rtpmap:${pt} ${name}/${rate}`),
  fc.tuple(intOrJunk(-1, 300), token).map(([pt, params]) => `a=fmtp:${pt} ${params}`),
  fc
    .tuple(fc.constantFrom('audio', 'video', 'application', 'text', ''), intOrJunk(-1, 70_000), token, fc.array(intOrJunk(-1, 300), { maxLength: 5 }))
    .map(([kind, port, proto, pts]) => `m=${kind} ${port} ${proto} ${pts.join(' ')}`),
  candidateLine.map((c) => `a=${c}`),
  fc.constantFrom(
    'a=setup:bogus',
    'a=fingerprint:sha-256 ZZ',
    'a=fingerprint:md5 00',
    'a=ice-ufrag:',
    'a=ice-pwd:',
    'a=group:BUNDLE 7 8',
    'a=mid:',
    'a=inactive',
    'a=recvonly',
    'a=rtcp-mux',
    'a=extmap:99999 urn:x',
    'a=ssrc:-1 cname:x',
    'a=sctp-port:-5',
    'a=max-message-size:0',
    'b=AS:-1',
    't=0 0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=',
    'c=IN IP4 127.0.0.1',
    'c=IN IP6 ::1',
    'v=1',
    '',
  ),
  junkText.filter((line) => !line.includes('candidate') && !line.includes('.local')),
);

type Mutation = { kind: 'drop' | 'dup' | 'truncate'; at: number } | { kind: 'swap'; at: number; with: number } | { kind: 'replace' | 'insert'; at: number; line: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('drop' as const, 'dup' as const, 'truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constantFrom('replace' as const, 'insert' as const), at: fc.nat(), line: sdpLine }),
);

/** Keeps only loopback addresses in an SDP (candidates elsewhere are dropped, c= lines rewritten). */
export function loopbackOnly(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:') || / 127\.\d+\.\d+\.\d+ /.test(line))
    .map((line) => (line.startsWith('c=IN IP4 ') ? 'c=IN IP4 127.0.0.1' : line))
    .join('\r\n');
}

/** `template` (a real offer, loopback only) with a few lines dropped, doubled, swapped, replaced or cut. */
export function mangledSdp(template: string): fc.Arbitrary<string> {
  return fc.array(mutation, { minLength: 1, maxLength: 6 }).map((mutations) => {
    let lines = template.split('\r\n');
    for (const m of mutations) {
      const at = m.at % Math.max(1, lines.length);
      switch (m.kind) {
        case 'drop':
          lines.splice(at, 1);
          break;
        case 'dup':
          lines.splice(at, 0, lines[at] ?? '');
          break;
        case 'truncate':
          lines = lines.slice(0, at + 1);
          lines[at] = (lines[at] ?? '').slice(0, (m.at >> 3) % Math.max(1, (lines[at] ?? '').length));
          break;
        case 'swap': {
          const other = m.with % Math.max(1, lines.length);
          [lines[at], lines[other]] = [lines[other] ?? '', lines[at] ?? ''];
          break;
        }
        case 'replace':
          lines[at] = m.line;
          break;
        case 'insert':
          lines.splice(at, 0, m.line);
          break;
      }
    }
    return lines.join('\r\n');
  });
}

/**
 * Records unhandled promise rejections while installed (Node would otherwise end the process):
 * a fuzz run asserts there were none.
 */
export class CrashWatch {
  readonly rejections: unknown[] = [];
  private readonly onRejection = (reason: unknown) => void this.rejections.push(reason);

  install(): void {
    process.on('unhandledRejection', this.onRejection);
  }

  uninstall(): void {
    process.off('unhandledRejection', this.onRejection);
  }
}
