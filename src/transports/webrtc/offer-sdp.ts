import type { Modality } from '../../options.js';

export const MAX_SDP_LENGTH = 60_000;

/**
 * Why an offer's SDP cannot be answered, in words for the client, or undefined when it can: the
 * shape (v=0, size), the tracks the Stream's modality serves, and in every used media section the
 * ICE credentials (`a=ice-ufrag`, `a=ice-pwd`) and the DTLS fingerprint (`a=fingerprint`), at the
 * session level or the section's own. Nothing is handed to the WebRTC stack before this passes.
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
  const [session = '', ...sections] = sdp.split(/\r?\n(?=m=)/);
  for (const section of sections) {
    if (/^m=\w+ 0 /.test(section)) continue; // a rejected (port 0) section carries no transport
    const kind = /^m=(\w+)/.exec(section)?.[1] ?? 'media';
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
