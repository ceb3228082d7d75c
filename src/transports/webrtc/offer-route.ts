import type { Context, Middleware } from 'koa';
import type { RTCIceCandidateInit } from 'werift';
import { CallstreamError } from '../../errors.js';
import { readJson } from '../../http/body.js';
import type { TransportRuntime } from '../runtime.js';
import { WebRtcPeer } from './peer.js';
import { offerSdpProblem } from './offer-sdp.js';
import { PendingCandidates } from './pending-candidates.js';

/** Client-chosen ids (FastRTC's webrtc_id): short and plain, so they are safe in logs and URLs. */
export const CLIENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** FastRTC's failure answer: HTTP 200 so that its clients can read it. */
function failed(ctx: Context, error: string, extra: Record<string, unknown> = {}): void {
  ctx.status = 200;
  ctx.body = { status: 'failed', meta: { error, ...extra } };
}

function badRequest(message: string): CallstreamError {
  return new CallstreamError('BAD_REQUEST', message);
}

/** The live browser peers of one Stream, and the candidates waiting for their offers. */
export class WebRtcPeers {
  readonly peers = new Map<string, WebRtcPeer>();
  readonly pending: PendingCandidates;

  constructor(private readonly runtime: TransportRuntime) {
    this.pending = new PendingCandidates(runtime.clock);
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
    this.pending.clear();
  }

  private async offer(ctx: Context, id: string, sdp: unknown): Promise<void> {
    if (this.peers.has(id) || this.runtime.getSession(id)) return failed(ctx, 'connection_already_exists');
    const { modality, allowExtraTracks } = this.runtime.options;
    const problem = offerSdpProblem(sdp, modality, Boolean(allowExtraTracks));
    if (problem !== undefined) throw badRequest(problem);
    if (!this.runtime.accepting) return failed(ctx, 'shutting_down');
    const slot = this.runtime.registry.reserve('webrtc');
    if (!slot) {
      const log = this.runtime.logger.child({ transport: 'webrtc' });
      this.runtime.clientFaults.warn(log, { limit: this.runtime.options.concurrencyLimit }, 'offer refused: concurrency limit reached');
      return failed(ctx, 'concurrency_limit_reached', { limit: this.runtime.options.concurrencyLimit });
    }
    const peer = new WebRtcPeer(this.runtime, { id, slot, remoteAddress: ctx.ip, onClosed: () => this.forget(peer) });
    this.peers.set(id, peer);
    try {
      ctx.body = await peer.answer(sdp as string, this.pending.take(id));
    } catch (error) {
      peer.close('The offer could not be answered.');
      throw error;
    }
  }

  private async candidate(ctx: Context, id: string, candidate: unknown): Promise<void> {
    if (typeof candidate !== 'object' || candidate === null) return failed(ctx, 'invalid_candidate_format');
    const init = candidate as RTCIceCandidateInit;
    if (typeof init.candidate !== 'string' || (init.candidate !== '' && !init.candidate.startsWith('candidate:'))) {
      return failed(ctx, 'invalid_candidate_format');
    }
    if (init.candidate === '') {
      ctx.body = { status: 'success' }; // end of candidates
      return;
    }
    const peer = this.peers.get(id);
    if (!peer) {
      if (!this.pending.add(id, init)) return failed(ctx, 'unknown_connection');
      ctx.body = { status: 'success' };
      return;
    }
    if (peer.isClosed) return failed(ctx, 'connection_closed');
    try {
      await peer.addCandidate(init);
    } catch {
      return failed(ctx, 'invalid_candidate_format');
    }
    ctx.body = { status: 'success' };
  }

  private forget(peer: WebRtcPeer): void {
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id);
  }
}
