/**
 * Counters and histograms cheap enough for every audio frame: plain numbers updated in place,
 * turned into Prometheus samples only when scraped. They follow prom-client's metric interface
 * (`name`, `help`, `type`, `get()`) so a prom-client Registry serves them. (prom-client's own
 * metrics hash their labels on every update: measurable at 50 frames a second per call.)
 */

interface Sample {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

/** A counter per label set, chosen once (`child(labels)`) and then bumped with `inc()`. */
export class CheapCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly children: { labels: Record<string, string>; count: { value: number } }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  child(labels: Record<string, string>): { value: number } {
    const count = { value: 0 };
    this.children.push({ labels, count });
    return count;
  }

  async get(): Promise<MetricData> {
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values: this.children.map((c) => ({ value: c.count.value, labels: c.labels })) };
  }
}

/** Cumulative buckets, sum and count for one label set. */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

export class CheapHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly children: { labels: Record<string, string>; data: HistogramChild }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  child(labels: Record<string, string>): HistogramChild {
    const data = new HistogramChild(this.bounds);
    this.children.push({ labels, data });
    return data;
  }

  async get(): Promise<MetricData> {
    const values: Sample[] = [];
    for (const { labels, data } of this.children) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += data.counts[i]!;
        values.push({ value: cumulative, labels: { ...labels, le: String(bound) }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: data.count, labels: { ...labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
      values.push({ value: data.sum, labels, metricName: `${this.name}_sum` });
      values.push({ value: data.count, labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
