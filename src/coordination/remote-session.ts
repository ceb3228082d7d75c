import type { Logger } from '../logger.js';
import type { SessionHandle } from '../session/handle.js';
import type { CallFacts, EndReason, StopInfo, TransportKind } from '../session/types.js';
import type { SessionDirectory } from './session-directory.js';

/** What the owner of a session tells others about it. */
export interface SessionSnapshot {
  id: string;
  transport: TransportKind;
  facts: CallFacts;
  instanceId: string;
}

/**
 * A session that lives on another instance, reached through the coordination: it can be hung up
 * and ended from here; `ended` resolves when its owner says it ended (or its call is over).
 */
export class RemoteSession implements SessionHandle {
  readonly id: string;
  readonly transport: TransportKind;
  readonly facts: CallFacts;
  /** The instance it lives on. */
  readonly instanceId: string;
  readonly ended: Promise<StopInfo>;
  private settle!: (info: StopInfo) => void;

  constructor(
    snapshot: SessionSnapshot,
    private readonly directory: SessionDirectory,
    private readonly logger: Logger,
  ) {
    this.id = snapshot.id;
    this.transport = snapshot.transport;
    this.facts = snapshot.facts;
    this.instanceId = snapshot.instanceId;
    this.ended = new Promise((resolve) => (this.settle = resolve));
  }

  async hangUp(): Promise<void> {
    await this.directory.send(this.id, { type: 'hangUp' });
  }

  end(_reason: EndReason = 'ended_by_server', message = 'Ended by the server.'): void {
    this.directory.send(this.id, { type: 'end', message }).catch((error: unknown) => this.logger.debug({ err: error, sessionId: this.id }, 'remote session: end not delivered'));
  }

  /** @internal The owner said it ended (or the call is over). */
  stopped(info: StopInfo): void {
    this.settle(info);
  }
}
