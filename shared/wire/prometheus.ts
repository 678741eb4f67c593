// Prometheus text exposition format (version 0.0.4), by hand: counters, gauges and histograms with labels, and a registry.
// Both daemons serve it on /metrics. (prom-client would do the same; this keeps the dependency list short.)

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const escLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (!keys.length) return '';
  return `{${keys.map((k) => `${k}="${escLabel(labels[k]!)}"`).join(',')}}`;
}

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

interface Metric {
  readonly name: string;
  render(): string;
}

abstract class Base implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly labelNames: readonly string[] = [],
  ) {
    if (!NAME_RE.test(name)) throw new Error(`bad metric name ${name}`);
    for (const l of labelNames) if (!LABEL_RE.test(l) || l === 'le') throw new Error(`bad label name ${l} on ${name}`);
  }
  protected check(labels: Labels): Labels {
    const given = Object.keys(labels);
    if (given.length !== this.labelNames.length || !this.labelNames.every((l) => typeof labels[l] === 'string')) {
      throw new Error(`${this.name}: labels must be exactly ${this.labelNames.join(', ') || '(none)'}`);
    }
    return labels;
  }
  protected header(): string {
    return `# HELP ${this.name} ${escHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }
  abstract render(): string;
}

/** Only goes up: inc(), or read from `collect` at every scrape (a total kept elsewhere). */
export class Counter extends Base {
  private readonly values = new Map<string, { labels: Labels; v: number }>();
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    private readonly collect?: () => Array<{ labels?: Labels; value: number }>,
  ) {
    super(name, help, 'counter', labelNames);
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`${this.name}: a counter cannot go down`);
    const k = keyOf(this.check(labels));
    const e = this.values.get(k);
    if (e) e.v += by;
    else this.values.set(k, { labels: { ...labels }, v: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.v ?? 0;
  }
  render(): string {
    let out = this.header();
    if (this.collect) {
      for (const r of this.collect()) out += `${this.name}${labelText(this.check(r.labels ?? {}))} ${formatValue(r.value)}\n`;
      return out;
    }
    for (const { labels, v } of this.values.values()) out += `${this.name}${labelText(labels)} ${formatValue(v)}\n`;
    return out;
  }
}

/** A value now: set, or read from `collect` at every scrape (level-triggered). */
export class Gauge extends Base {
  private readonly values = new Map<string, { labels: Labels; v: number }>();
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    private readonly collect?: () => Array<{ labels?: Labels; value: number }> | number,
  ) {
    super(name, help, 'gauge', labelNames);
  }
  set(labels: Labels, v: number): void {
    this.values.set(keyOf(this.check(labels)), { labels: { ...labels }, v });
  }
  render(): string {
    let out = this.header();
    if (this.collect) {
      const c = this.collect();
      const rows = typeof c === 'number' ? [{ labels: {}, value: c }] : c;
      for (const r of rows) out += `${this.name}${labelText(this.check(r.labels ?? {}))} ${formatValue(r.value)}\n`;
      return out;
    }
    for (const { labels, v } of this.values.values()) out += `${this.name}${labelText(labels)} ${formatValue(v)}\n`;
    return out;
  }
}

/** Cumulative buckets (upper bounds, ascending), plus _sum and _count. */
export class Histogram extends Base {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
    labelNames: readonly string[] = [],
  ) {
    super(name, help, 'histogram', labelNames);
    for (let i = 1; i < buckets.length; i++) if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${name}: buckets must ascend`);
  }
  observe(v: number, labels: Labels = {}): void {
    const k = keyOf(this.check(labels));
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  render(): string {
    let out = this.header();
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        out += `${this.name}_bucket${labelText({ ...s.labels, le: formatValue(b) })} ${s.counts[i]}\n`;
      });
      out += `${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}\n`;
      out += `${this.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}\n`;
      out += `${this.name}_count${labelText(s.labels)} ${s.count}\n`;
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join('');
  }
}

/** Buckets (seconds) for switch outages: sub-millisecond make-before-break up to a long failover. */
export const OUTAGE_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
