import type { RTCIceCandidateInit } from 'werift';

/**
 * Longest candidate line taken (characters). A browser's lines are about 100-200 characters (136 at
 * most from Chromium here, mDNS host names included); anything near this is not a candidate.
 */
export const MAX_CANDIDATE_CHARS = 1024;
/** Longest `sdpMid` and `usernameFragment` taken (an SDP token; a ufrag is 4-256 characters). */
const MAX_TOKEN_CHARS = 256;
/**
 * Remote candidates taken for one WebRTC id, kept before its offer or added to its peer. A browser
 * trickles a handful (Chromium here: 4 host candidates; a host with IPv4, IPv6, STUN and TURN gives
 * some 10-20).
 */
export const CANDIDATES_PER_ID = 32;

/** A trickled candidate read from a client's body: only the fields WebRTC defines, each bounded. */
export type CandidateReading =
  | { ok: true; candidate: RTCIceCandidateInit }
  | { ok: false; error: 'invalid_candidate_format' | 'candidate_too_large' };

/**
 * Reads FastRTC's `candidate` object (`RTCIceCandidate.toJSON()`): `candidate` (a line starting
 * `candidate:`, or '' for the end of candidates), `sdpMid`, `sdpMLineIndex`, `usernameFragment`.
 * Other fields are dropped, so nothing else a client sends is kept.
 */
export function readCandidate(value: unknown): CandidateReading {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'invalid_candidate_format' };
  const { candidate: line, sdpMid, sdpMLineIndex, usernameFragment } = value as Record<string, unknown>;
  if (typeof line !== 'string') return { ok: false, error: 'invalid_candidate_format' };
  if (line.length > MAX_CANDIDATE_CHARS) return { ok: false, error: 'candidate_too_large' };
  if (line !== '' && !line.startsWith('candidate:')) return { ok: false, error: 'invalid_candidate_format' };
  const candidate: RTCIceCandidateInit = { candidate: line };
  for (const [name, token] of [['sdpMid', sdpMid], ['usernameFragment', usernameFragment]] as const) {
    if (token === undefined || token === null) continue;
    if (typeof token !== 'string') return { ok: false, error: 'invalid_candidate_format' };
    if (token.length > MAX_TOKEN_CHARS) return { ok: false, error: 'candidate_too_large' };
    candidate[name] = token;
  }
  if (sdpMLineIndex !== undefined && sdpMLineIndex !== null) {
    if (!(Number.isInteger(sdpMLineIndex) && (sdpMLineIndex as number) >= 0 && (sdpMLineIndex as number) < 1024)) return { ok: false, error: 'invalid_candidate_format' };
    candidate.sdpMLineIndex = sdpMLineIndex as number;
  }
  return { ok: true, candidate };
}
