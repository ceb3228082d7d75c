/** 32 bytes as colon-separated hex: the shape of a real sha-256 fingerprint. */
const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0')).join(':');

/**
 * The smallest offer that passes the offer checks (ICE credentials, a well-formed sha-256
 * fingerprint, one SAVPF audio section) without a peer behind it: for tests of what happens around
 * an offer (limits, outages, routing), not of the connection itself.
 */
export const MINIMAL_OFFER_SDP = `v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:x\r\na=ice-pwd:y\r\na=fingerprint:sha-256 ${FINGERPRINT}\r\n`;
