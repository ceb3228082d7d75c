import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SessionObserver } from '../session/observer.js';
import type { TransportKind } from '../session/types.js';

const TRANSPORTS: TransportKind[] = ['telephone', 'webrtc', 'websocket'];

let processRegistry: Registry | undefined;

/** Process-wide defaults (event-loop lag, CPU, memory), collected once however many Streams exist. */
function processMetrics(prefix: string): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}

/**
 * A Stream's Prometheus metrics (prom-client, its own registry): sessions by transport, frames in
 * and out, drops, handler time per frame, pacing lateness, and the process's defaults (event-loop
 * lag, CPU, memory).
 */
export class StreamMetrics {
  readonly registry = new Registry();
  private readonly sessions: Gauge<'transport'>;
  private readonly observers = new Map<TransportKind, SessionObserver>();

  constructor(private readonly prefix = 'callstream_') {
    const registers = [this.registry];
    this.sessions = new Gauge({ name: `${prefix}sessions`, help: 'Live sessions by transport', labelNames: ['transport'], registers });
    const framesIn = new Counter({ name: `${prefix}frames_in_total`, help: 'Inbound audio frames', labelNames: ['transport'], registers });
    const framesOut = new Counter({ name: `${prefix}frames_out_total`, help: 'Outbound audio frames (20 ms)', labelNames: ['transport'], registers });
    const dropped = new Counter({ name: `${prefix}frames_dropped_total`, help: 'Frames dropped (slow handler inbound, full queue outbound)', labelNames: ['transport', 'direction'], registers });
    const handler = new Histogram({
      name: `${prefix}handler_seconds`,
      help: 'Handler time per inbound frame',
      labelNames: ['transport'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1],
      registers,
    });
    const lateness = new Histogram({
      name: `${prefix}pacing_lateness_seconds`,
      help: 'How late the pacing clock sent outbound frames',
      labelNames: ['transport'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.1, 0.2],
      registers,
    });
    for (const transport of TRANSPORTS) {
      this.sessions.labels(transport).set(0);
      const inCounter = framesIn.labels(transport);
      const outCounter = framesOut.labels(transport);
      const droppedIn = dropped.labels(transport, 'inbound');
      const droppedOut = dropped.labels(transport, 'outbound');
      const handled = handler.labels(transport);
      const late = lateness.labels(transport);
      this.observers.set(transport, {
        frameIn: () => inCounter.inc(),
        handled: (ms) => handled.observe(ms / 1000),
        framesOut: (count) => outCounter.inc(count),
        dropped: (direction, count) => (direction === 'inbound' ? droppedIn : droppedOut).inc(count),
        lateness: (ms) => late.observe(ms / 1000),
      });
    }
  }

  /** The per-frame observer for sessions of one transport. */
  observer(transport: TransportKind): SessionObserver {
    return this.observers.get(transport)!;
  }

  sessionOpened(transport: TransportKind): void {
    this.sessions.labels(transport).inc();
  }

  sessionClosed(transport: TransportKind): void {
    this.sessions.labels(transport).dec();
  }

  /** The Prometheus text exposition: this Stream's metrics and the process's. */
  async render(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge([processMetrics(this.prefix), this.registry]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}
