import type { Modality } from '../../options.js';

export const MAX_SDP_LENGTH = 60_000;

/**
 * Why an offer's SDP cannot be answered, in words for the client, or undefined when it can: the
 * shape (v=0, size), the tracks the Stream's modality serves (each in a section that is not disabled
 * with port 0, under a DTLS-SRTP profile), and in every used media section the ICE credentials
 * (`a=ice-ufrag`, `a=ice-pwd`) and a DTLS fingerprint of a known hash with a value of its length, at
 * the session level or the section's own; candidate lines must look like candidates. Nothing is
 * handed to the WebRTC stack, and no place is taken, before this passes.
 */
export function offerSdpProblem(sdp: unknown, modality: Modality, allowExtraTracks: boolean): string | undefined {
  if (typeof sdp !== 'string' || !sdp.startsWith('v=0') || sdp.length > MAX_SDP_LENGTH) {
    return `sdp must be an SDP offer (starting with "v=0", at most ${MAX_SDP_LENGTH} characters).`;
  }
  if (modality !== 'video' && !/^m=audio /m.test(sdp)) return 'The offer has no audio (m=audio) section.';
  if (modality !== 'audio' && !/^m=video /m.test(sdp)) return `This Stream serves ${modality}: the offer has no video (m=video) section.`;
  const extra = modality === 'audio' ? /^m=video [1-9]/m : modality === 'video' ? /^m=audio [1-9]/m : undefined;
  if (extra?.test(sdp) && !allowExtraTracks) {
    return `The offer has a ${modality === 'audio' ? 'video' : 'audio'} track this ${modality} Stream does not serve (allowExtraTracks ignores such tracks).`;
  }
  const lines = fingerprintProblem(sdp) ?? candidateProblem(sdp);
  if (lines) return lines;
  const [session = '', ...sections] = sdp.split(/\r?\n(?=m=)/);
  const used = sections.filter(isUsed);
  for (const kind of modality === 'audio-video' ? ['audio', 'video'] : [modality === 'video' ? 'video' : 'audio']) {
    if (!used.some((section) => section.startsWith(`m=${kind} `))) return `The offer's ${kind} section is disabled (port 0): there is no ${kind} to answer.`;
  }
  for (const section of used) {
    const [, kind = 'media', proto = ''] = /^m=(\w+) \S+ (\S+)/.exec(section) ?? [];
    if ((kind === 'audio' || kind === 'video') && !/(^|\/)SAVPF$/.test(proto)) {
      return `The offer's ${kind} section uses ${proto.slice(0, 30) || 'no profile'}: WebRTC media needs DTLS-SRTP (UDP/TLS/RTP/SAVPF).`;
    }
    for (const [attribute, what] of REQUIRED) {
      if (!attribute.test(section) && !attribute.test(session)) return `The offer's ${kind} section lacks ${what}.`;
    }
  }
  return undefined;
}

const REQUIRED: [RegExp, string][] = [
  [/^a=ice-ufrag:\S+/m, 'ICE credentials (a=ice-ufrag)'],
  [/^a=ice-pwd:\S+/m, 'ICE credentials (a=ice-pwd)'],
  [/^a=fingerprint:\S+ \S+/m, 'a DTLS fingerprint (a=fingerprint)'],
];

/** The hashes a DTLS fingerprint may use (RFC 8122; MD5 and MD2 are not allowed), with their length in bytes. */
const FINGERPRINT_BYTES: Record<string, number> = { 'sha-1': 20, 'sha-224': 28, 'sha-256': 32, 'sha-384': 48, 'sha-512': 64 };

/** A section is used unless disabled (port 0); a bundled section may have port 0 with `a=bundle-only`. */
function isUsed(section: string): boolean {
  return !/^m=\w+ 0 /.test(section) || /^a=bundle-only\s*$/m.test(section);
}

/** Every `a=fingerprint` line must name a known hash and give a value of its length in colon-separated hex. */
function fingerprintProblem(sdp: string): string | undefined {
  for (const [, hash = '', value = ''] of sdp.matchAll(/^a=fingerprint:(\S*)[ \t]*(\S*)/gm)) {
    const bytes = FINGERPRINT_BYTES[hash.toLowerCase()];
    if (bytes === undefined) {
      return `The offer's DTLS fingerprint uses ${JSON.stringify(hash.slice(0, 20))}: use ${Object.keys(FINGERPRINT_BYTES).join(', ')}.`;
    }
    if (!new RegExp(`^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){${bytes - 1}}$`).test(value)) {
      return `The offer's ${hash} fingerprint must be ${bytes} bytes of colon-separated hex (AB:CD:...).`;
    }
  }
  return undefined;
}

/** `a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...` (RFC 8839). */
const CANDIDATE = /^a=candidate:\S{1,32} \d{1,3} (udp|tcp) \d{1,10} \S{1,255} \d{1,5} typ (host|srflx|prflx|relay)( |\s*$)/i;

function candidateProblem(sdp: string): string | undefined {
  for (const [line] of sdp.matchAll(/^a=candidate:.*$/gm)) {
    if (!CANDIDATE.test(line)) return 'The offer has a malformed ICE candidate line (a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>).';
  }
  return undefined;
}
