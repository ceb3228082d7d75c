import { collectDefaultMetrics, Counter, Gauge, type Metric, Registry } from 'prom-client';
import { CheapCounter, CheapHistogram } from './cheap-metrics.js';
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
  private readonly refusals: Counter<'transport' | 'reason'>;
  private readonly observers = new Map<TransportKind, SessionObserver>();

  constructor(private readonly prefix = 'callstream_') {
    const registers = [this.registry];
    this.sessions = new Gauge({ name: `${prefix}sessions`, help: 'Live sessions by transport', labelNames: ['transport'], registers });
    this.refusals = new Counter({
      name: `${prefix}sessions_refused_total`,
      help: 'Sessions refused, by transport and reason (busy: the limit; draining; unavailable: the coordination store; taken: id or call already live)',
      labelNames: ['transport', 'reason'],
      registers,
    });
    // Updated per frame: plain numbers, read when scraped.
    const framesIn = new CheapCounter(`${prefix}frames_in_total`, 'Inbound audio frames');
    const framesOut = new CheapCounter(`${prefix}frames_out_total`, 'Outbound audio frames (20 ms)');
    const dropped = new CheapCounter(`${prefix}frames_dropped_total`, 'Frames dropped (slow handler inbound, full queue outbound)');
    const handler = new CheapHistogram(`${prefix}handler_seconds`, 'Handler time per inbound frame', [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1]);
    const lateness = new CheapHistogram(`${prefix}pacing_lateness_seconds`, 'How late the pacing clock sent outbound frames', [0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.1, 0.2]);
    for (const metric of [framesIn, framesOut, dropped, handler, lateness]) this.registry.registerMetric(metric as unknown as Metric);
    for (const transport of TRANSPORTS) {
      this.sessions.labels(transport).set(0);
      const inCounter = framesIn.child({ transport });
      const outCounter = framesOut.child({ transport });
      const droppedIn = dropped.child({ transport, direction: 'inbound' });
      const droppedOut = dropped.child({ transport, direction: 'outbound' });
      const handled = handler.child({ transport });
      const late = lateness.child({ transport });
      this.observers.set(transport, {
        frameIn: () => void inCounter.value++,
        handled: (ms) => handled.observe(ms / 1000),
        framesOut: (count) => void (outCounter.value += count),
        dropped: (direction, count) => void ((direction === 'inbound' ? droppedIn : droppedOut).value += count),
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

  sessionRefused(transport: TransportKind, reason: string): void {
    this.refusals.labels(transport, reason).inc();
  }

  /** Sessions refused so far for `reason` (all transports). */
  async refusedCount(reason: string): Promise<number> {
    const { values } = await this.refusals.get();
    return values.filter((v) => v.labels.reason === reason).reduce((sum, v) => sum + v.value, 0);
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
