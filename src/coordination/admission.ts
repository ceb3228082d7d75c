import { isCallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TransportKind } from '../session/types.js';
import type { Coordination, Place } from './coordination.js';
import type { SessionDirectory } from './session-directory.js';

/** Why a session was not let in. */
export type RefusalReason = 'busy' | 'draining' | 'unavailable' | 'taken';

/** A session let in: its id and keys claimed, its place held, and what was kept for its id. */
export interface Admitted {
  admitted: true;
  id: string;
  keys: string[];
  place: Place;
  kept: unknown[];
  /** Gives it all back (the connection went away before the session opened). */
  giveBack(): void;
}

export type Admission = Admitted | { admitted: false; reason: RefusalReason };

export interface AdmissionRequest {
  transport: TransportKind;
  /** The session's id, claimed deployment-wide for its life. */
  id: string;
  /** Further keys the session answers for (e.g. `call:<CallSid>`), claimed the same way. */
  keys?: string[];
  /** A place already taken for it (a phone call's, from its webhook); else one is acquired. */
  place?: Place;
}

export interface AdmissionContext {
  coordination: Coordination;
  directory: SessionDirectory;
  limit: number;
  accepting(): boolean;
  logger: Logger;
  /** Counts a refusal (metrics). */
  refused(transport: TransportKind, reason: RefusalReason): void;
}

/**
 * Lets a session in: claims its id (and keys) deployment-wide, then takes its place under the limit.
 * Either all of it is held, or nothing is (what was taken is given back) and the reason is said.
 * A store that cannot be reached refuses (`unavailable`) instead of failing the request.
 */
export async function admitSession(context: AdmissionContext, request: AdmissionRequest): Promise<Admission> {
  const { coordination, directory } = context;
  const claimed: string[] = [];
  const refuse = (reason: RefusalReason): Admission => {
    for (const key of claimed) directory.unclaim(key);
    request.place?.release();
    context.refused(request.transport, reason);
    return { admitted: false, reason };
  };
  if (!context.accepting()) return refuse('draining');
  try {
    // The id and the keys in one step (one round trip to a shared store).
    const kept = await directory.claim(request.id, ...(request.keys ?? []));
    if (!kept) return refuse('taken');
    claimed.push(request.id, ...(request.keys ?? []));
    const place = request.place ?? (await coordination.acquirePlace(request.transport, context.limit));
    if (!place) return refuse('busy');
    if (!context.accepting()) {
      place.release();
      return refuse('draining');
    }
    const keys = request.keys ?? [];
    return {
      admitted: true,
      id: request.id,
      keys,
      place,
      kept,
      giveBack() {
        place.release();
        for (const key of claimed) directory.unclaim(key);
      },
    };
  } catch (error) {
    const refusal = refuse('unavailable');
    if (!isCallstreamError(error, 'COORDINATION_UNAVAILABLE')) throw error;
    // At debug: the coordination says the outage itself, once, rather than a line per refused session.
    context.logger.debug({ transport: request.transport, reason: error.message }, 'session refused: the coordination store is unavailable');
    return refusal;
  }
}
