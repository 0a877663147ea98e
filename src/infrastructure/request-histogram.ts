// The request-duration histogram: counted here, written out by prom-client's registry like any of its histograms.
//
// prom-client's own Histogram works out, on every observation, its label set's key (a string built from the labels)
// and its bucket's (the bound, a fraction, turned into a property name twice): ~700 ns an observation, measured, where
// the bot runtime's read makes one per request. Here a label set's counts are found through nested maps (route,
// method, status: closed sets, so bounded) and kept in an array by bucket: a few tens of ns. What the registry reads
// of it (`get`) is, value for value and in the same order, what prom-client's Histogram gives for the same
// observations (test/infrastructure/metrics.spec.ts holds the two side by side).
import type { Metric } from 'prom-client';

interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket (not cumulative); beyond the last bound they are only in count and sum. */
  counts: number[];
  sum: number;
  count: number;
}

export class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Every label set, in the order first observed (prom-client writes them so). */
  private all: Series[] = [];
  private byRoute = new Map<string, Map<string, Map<number, Series>>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(method: string, route: string, status: number, seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = { labels: { method, route, status: String(status) }, counts: this.bounds.map(() => 0), sum: 0, count: 0 };
      byStatus.set(status, series);
      this.all.push(series);
    }
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        series.counts[i]! += 1;
        break;
      }
    }
    series.sum += seconds;
    series.count += 1;
  }

  /** What prom-client's registry writes out: each label set's cumulative buckets, +Inf, sum and count. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: { metricName: string; labels: Record<string, string | number>; value: number; exemplar?: null }[] }> {
    const bucket = `${this.name}_bucket`;
    const values = [];
    for (const { labels, counts, sum, count } of this.all) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += counts[i]!;
        values.push({ metricName: bucket, labels: { le: this.bounds[i]!, ...labels }, value: cumulative, exemplar: null });
      }
      values.push({ metricName: bucket, labels: { le: '+Inf', ...labels }, value: count, exemplar: null });
      values.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.all = [];
    this.byRoute = new Map();
  }

  /** As the registry takes it. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
