import type { Context, Middleware } from 'koa';
import type { RTCIceCandidateInit } from 'werift';
import { CallstreamError } from '../../errors.js';
import { readJson } from '../../http/body.js';
import type { TransportRuntime } from '../runtime.js';
import { CLIENT_ID } from '../wire.js';
import { WebRtcPeer } from './peer.js';
import { offerSdpProblem } from './offer-sdp.js';


/** FastRTC's failure answer: HTTP 200 so that its clients can read it. */
function failed(ctx: Context, error: string, extra: Record<string, unknown> = {}): void {
  ctx.status = 200;
  ctx.body = { status: 'failed', meta: { error, ...extra } };
}

function badRequest(message: string): CallstreamError {
  return new CallstreamError('BAD_REQUEST', message);
}

/** What a trickled candidate gets back (FastRTC's answers). */
type CandidateAnswer = { status: 'success' } | { status: 'failed'; meta: { error: string } };

/**
 * The live browser peers of this instance. Trickled candidates reach their peer wherever it lives
 * (through the coordination); those that come before their offer are kept for it.
 */
export class WebRtcPeers {
  readonly peers = new Map<string, WebRtcPeer>();

  constructor(private readonly runtime: TransportRuntime) {
    runtime.directory.handleKeyed('candidate', (id, message) => this.addCandidate(id, message.candidate as RTCIceCandidateInit));
  }

  /** `POST {path}/webrtc/offer`: an offer, or a trickled ICE candidate (FastRTC's wire shapes). */
  route(): Middleware {
    return async (ctx: Context) => {
      const body = await readJson(ctx, this.runtime.options.maxBodyBytes);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The body must be a JSON object.');
      const { type, webrtc_id: id } = body as Record<string, unknown>;
      if (typeof id !== 'string' || !CLIENT_ID.test(id)) throw badRequest('webrtc_id must be 1-128 letters, digits, "_" or "-".');
      if (type === 'offer') return this.offer(ctx, id, (body as Record<string, unknown>).sdp);
      if (type === 'ice-candidate') return this.candidate(ctx, id, (body as Record<string, unknown>).candidate);
      throw badRequest('type must be "offer" or "ice-candidate".');
    };
  }

  /** Closes every peer (shutdown). */
  closeAll(reason: string): void {
    for (const peer of [...this.peers.values()]) peer.close(reason);
  }

  private async offer(ctx: Context, id: string, sdp: unknown): Promise<void> {
    if (this.peers.has(id) || this.runtime.getSession(id)) return failed(ctx, 'connection_already_exists');
    const { modality, allowExtraTracks, concurrencyLimit } = this.runtime.options;
    const problem = offerSdpProblem(sdp, modality, Boolean(allowExtraTracks));
    if (problem !== undefined) throw badRequest(problem);
    const admission = await this.runtime.admit({ transport: 'webrtc', id });
    if (!admission.admitted) {
      switch (admission.reason) {
        case 'taken':
          return failed(ctx, 'connection_already_exists');
        case 'draining':
          return failed(ctx, 'shutting_down');
        case 'unavailable':
          ctx.status = 503;
          ctx.body = { status: 'failed', meta: { error: 'server_unavailable' } };
          return;
        case 'busy':
          this.runtime.clientFaults.warn(this.runtime.logger.child({ transport: 'webrtc' }), { limit: concurrencyLimit }, 'offer refused: concurrency limit reached');
          return failed(ctx, 'concurrency_limit_reached', { limit: concurrencyLimit });
      }
    }
    const peer = new WebRtcPeer(this.runtime, {
      id,
      place: admission.place,
      remoteAddress: ctx.ip,
      onClosed: () => this.forget(peer),
    });
    this.peers.set(id, peer);
    const early = admission.kept.flatMap((message) => {
      const { type, candidate } = message as { type?: unknown; candidate?: unknown };
      return type === 'candidate' && isCandidate(candidate) ? [candidate] : [];
    });
    try {
      ctx.body = await peer.answer(sdp as string, early);
    } catch (error) {
      peer.close('The offer could not be answered.');
      throw error;
    }
  }

  private async candidate(ctx: Context, id: string, candidate: unknown): Promise<void> {
    if (!isCandidate(candidate)) return failed(ctx, 'invalid_candidate_format');
    if (candidate.candidate === '') {
      ctx.body = { status: 'success' }; // end of candidates
      return;
    }
    if (this.peers.has(id)) {
      ctx.body = await this.addCandidate(id, candidate);
      return;
    }
    // Elsewhere, or before its offer (trickle races the offer POST): kept for the offer if so.
    const delivery = await this.runtime.coordination.ask(id, { type: 'candidate', candidate: { ...candidate } }, { keep: true });
    ctx.body = delivery.kind === 'replied' ? delivery.value : { status: 'success' };
  }

  private async addCandidate(id: string, candidate: RTCIceCandidateInit): Promise<CandidateAnswer> {
    const peer = this.peers.get(id);
    if (!peer) return { status: 'failed', meta: { error: 'unknown_connection' } };
    if (peer.isClosed) return { status: 'failed', meta: { error: 'connection_closed' } };
    try {
      await peer.addCandidate(candidate);
    } catch {
      return { status: 'failed', meta: { error: 'invalid_candidate_format' } };
    }
    return { status: 'success' };
  }

  private forget(peer: WebRtcPeer): void {
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id);
    if (!peer.session) this.runtime.directory.unclaim(peer.id);
  }
}

function isCandidate(value: unknown): value is RTCIceCandidateInit {
  if (typeof value !== 'object' || value === null) return false;
  const text = (value as { candidate?: unknown }).candidate;
  return typeof text === 'string' && (text === '' || text.startsWith('candidate:'));
}
