import type { Context, Middleware } from 'koa';
import type { RTCIceCandidateInit } from 'werift';
import { CallstreamError, isCallstreamError } from '../../errors.js';
import { readJson } from '../../http/body.js';
import type { TransportRuntime } from '../runtime.js';
import { CLIENT_ID } from '../wire.js';
import { CANDIDATES_PER_ID, MAX_CANDIDATE_CHARS, readCandidate } from './candidates.js';
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
type CandidateAnswer = { status: 'success' } | { status: 'failed'; meta: { error: string; limit?: number } };

/** The per-client budgets the route counts requests against (rate-limit middleware; see routes.ts). */
export interface OfferRouteLimits {
  /** Offers, and requests refused before their type is known. */
  offers: Middleware;
  /** Trickled candidates, accepted or not. */
  candidates: Middleware;
}

const unlimited: Middleware = (_ctx, next) => next();

/**
 * The live browser peers of this instance. Trickled candidates reach their peer wherever it lives
 * (through the coordination); those that come before their offer are kept for it.
 */
export class WebRtcPeers {
  readonly peers = new Map<string, WebRtcPeer>();

  constructor(private readonly runtime: TransportRuntime) {
    runtime.directory.handleKeyed('candidate', (id, message) => {
      const reading = readCandidate(message.candidate);
      return reading.ok ? this.addCandidate(id, reading.candidate) : { status: 'failed', meta: { error: reading.error } };
    });
  }

  /**
   * `POST {path}/webrtc/offer`: an offer, or a trickled ICE candidate (FastRTC's wire shapes), each
   * counted against its own budget.
   */
  route(limits: OfferRouteLimits = { offers: unlimited, candidates: unlimited }): Middleware {
    return async (ctx: Context) => {
      let body: Record<string, unknown>;
      try {
        body = await this.readBody(ctx);
      } catch (error) {
        return limits.offers(ctx, () => Promise.reject(error));
      }
      const id = body.webrtc_id as string;
      if (body.type !== 'ice-candidate') return limits.offers(ctx, () => this.offer(ctx, id, body.sdp));
      try {
        await limits.candidates(ctx, () => this.candidate(ctx, id, body.candidate));
      } catch (error) {
        if (isCallstreamError(error, 'RATE_LIMITED')) this.fault(ctx, {}, 'candidates refused: this address is over its budget');
        throw error;
      }
    };
  }

  private async readBody(ctx: Context): Promise<Record<string, unknown>> {
    const body = await readJson(ctx, this.runtime.options.maxBodyBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The body must be a JSON object.');
    const { type, webrtc_id: id } = body as Record<string, unknown>;
    if (typeof id !== 'string' || !CLIENT_ID.test(id)) throw badRequest('webrtc_id must be 1-128 letters, digits, "_" or "-".');
    if (type !== 'offer' && type !== 'ice-candidate') throw badRequest('type must be "offer" or "ice-candidate".');
    return body as Record<string, unknown>;
  }

  /** A client over a bound: a warning at most a few times a minute (client-faults.ts). */
  private fault(ctx: Context, fields: Record<string, unknown>, message: string): void {
    this.runtime.clientFaults.warn(this.runtime.logger.child({ transport: 'webrtc' }), { ...fields, ip: ctx.ip }, message);
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
      const reading = type === 'candidate' ? readCandidate(candidate) : undefined;
      return reading?.ok ? [reading.candidate] : [];
    });
    try {
      ctx.body = await peer.answer(sdp as string, early);
    } catch (error) {
      peer.close('The offer could not be answered.');
      throw error;
    }
  }

  private async candidate(ctx: Context, id: string, value: unknown): Promise<void> {
    const reading = readCandidate(value);
    if (!reading.ok) {
      if (reading.error === 'invalid_candidate_format') return failed(ctx, reading.error);
      this.fault(ctx, { limit: MAX_CANDIDATE_CHARS }, 'candidate refused: larger than a candidate can be');
      ctx.status = 400;
      ctx.body = { status: 'failed', meta: { error: reading.error, limit: MAX_CANDIDATE_CHARS } };
      return;
    }
    const { candidate } = reading;
    if (candidate.candidate === '') {
      ctx.body = { status: 'success' }; // end of candidates
      return;
    }
    if (this.peers.has(id)) {
      ctx.body = await this.addCandidate(id, candidate);
      if (isTooMany(ctx.body)) this.fault(ctx, { limit: CANDIDATES_PER_ID }, 'candidate refused: its id has all the candidates it may have');
      return;
    }
    // Elsewhere, or before its offer (trickle races the offer POST): kept for the offer if so, bounded.
    const delivery = await this.runtime.coordination.ask(id, { type: 'candidate', candidate }, { keep: true, keepAtMost: CANDIDATES_PER_ID });
    switch (delivery.kind) {
      case 'replied':
        ctx.body = delivery.value;
        if (isTooMany(ctx.body)) this.fault(ctx, { limit: CANDIDATES_PER_ID }, 'candidate refused: its id has all the candidates it may have');
        return;
      case 'full':
        if (delivery.bound === 'key') {
          this.fault(ctx, { limit: CANDIDATES_PER_ID }, 'candidate refused: its id has all the candidates it may have');
          ctx.body = tooMany();
          return;
        }
        this.fault(ctx, {}, 'candidate refused: candidates kept for offers to come use all their memory');
        ctx.status = 503;
        ctx.set('Retry-After', '10');
        ctx.body = { status: 'failed', meta: { error: 'server_busy' } };
        return;
      default:
        ctx.body = { status: 'success' };
    }
  }

  private async addCandidate(id: string, candidate: RTCIceCandidateInit): Promise<CandidateAnswer> {
    const peer = this.peers.get(id);
    if (!peer) return { status: 'failed', meta: { error: 'unknown_connection' } };
    if (peer.isClosed) return { status: 'failed', meta: { error: 'connection_closed' } };
    if (peer.remoteCandidates >= CANDIDATES_PER_ID) return tooMany();
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

function tooMany(): CandidateAnswer {
  return { status: 'failed', meta: { error: 'too_many_candidates', limit: CANDIDATES_PER_ID } };
}

function isTooMany(answer: unknown): boolean {
  return (answer as CandidateAnswer | undefined)?.status === 'failed' && (answer as { meta: { error?: unknown } }).meta.error === 'too_many_candidates';
}
