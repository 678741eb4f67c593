// The agent's Prometheus metrics (switches by reason, time per uplink, outages, journal backlog, shipping) and a tiny /metrics listener.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, OUTAGE_BUCKETS_S, PROMETHEUS_CONTENT_TYPE, Registry } from '../../shared/wire/prometheus.js';
import { registerProcessMetrics } from '../../shared/process.metrics.js';
import type { HostHealth } from '../../shared/wire/host-health.js';

export interface AgentMetricsOptions {
  /** Monotonic ms (performance.now in the agent, a fake in tests). */
  now: () => number;
  /** Unshipped events in the journal, read at each scrape. */
  backlog: () => number;
  /** The latest host health sample: roamlink_agent_host_* gauges (absent or null: none). */
  health?: () => HostHealth | null;
  /** Registers process_*, nodejs_* and roamlink_build_info (the agent does when it serves /metrics). */
  process?: boolean;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly switches: Counter;
  private readonly outage: Histogram;
  private readonly shipped: Counter;
  private readonly shipFailures: Counter;
  private readonly seconds = new Map<string, number>();
  private active: { uplink: string; since: number } | null = null;
  private readonly stopProcess: () => void = () => {};

  constructor(private readonly o: AgentMetricsOptions) {
    const r = this.registry;
    this.switches = r.register(new Counter('roamlink_agent_switches_total', 'Switches made by this agent, by reason.', ['reason']));
    r.register(
      new Counter('roamlink_agent_uplink_seconds_total', 'Seconds each uplink carried the tunnel (since the agent started).', ['uplink'], () =>
        [...this.uplinkSeconds()].map(([uplink, value]) => ({ labels: { uplink }, value })),
      ),
    );
    this.outage = r.register(new Histogram('roamlink_agent_switch_outage_seconds', 'Per switch: the measured gap, else decision to first packet on the new path.', OUTAGE_BUCKETS_S));
    r.register(new Gauge('roamlink_agent_journal_backlog_events', 'Switch events journaled and not yet acknowledged by HQ.', [], () => o.backlog()));
    this.shipped = r.register(new Counter('roamlink_agent_events_shipped_total', 'Switch events HQ acknowledged.'));
    this.shipFailures = r.register(new Counter('roamlink_agent_ship_failures_total', 'Failed attempts to ship the journal to HQ.'));
    const host = (help: string, name: string, pick: (h: HostHealth) => number | null) =>
      r.register(new Gauge(name, help, [], () => {
        const h = o.health?.();
        const v = h ? pick(h) : null;
        return v === null ? [] : [{ value: v }];
      }));
    host('The hottest thermal zone (°C), at the last health sample.', 'roamlink_agent_host_cpu_temperature_celsius', (h) => h.cpu_temp_c);
    host('The 1-minute load average, at the last health sample.', 'roamlink_agent_host_load1', (h) => h.load1);
    host('Memory available (bytes), at the last health sample.', 'roamlink_agent_host_memory_available_bytes', (h) => h.mem_available_bytes);
    host("Free bytes on state_dir's file system, at the last health sample.", 'roamlink_agent_host_disk_free_bytes', (h) => h.disk_free_bytes);
    host('Seconds since the vehicle computer booted, at the last health sample.', 'roamlink_agent_host_uptime_seconds', (h) => h.uptime_s);
    if (o.process) this.stopProcess = registerProcessMetrics(r, 'agent');
  }

  /** Ends the event loop sampling of the process metrics. */
  close(): void {
    this.stopProcess();
  }

  /** A switch: counts it, and closes the time of the uplink it left. */
  onSwitch(e: { to: string; reason: string; ms_to_first_packet: number | null; gap_ms?: number | null }): void {
    const now = this.o.now();
    if (this.active) this.seconds.set(this.active.uplink, (this.seconds.get(this.active.uplink) ?? 0) + (now - this.active.since) / 1000);
    this.active = { uplink: e.to, since: now };
    this.switches.inc({ reason: e.reason });
    const ms = e.gap_ms ?? e.ms_to_first_packet;
    if (ms !== null && ms !== undefined) this.outage.observe(ms / 1000);
  }

  onShipped(n: number): void {
    this.shipped.inc({}, n);
  }

  onShipFailure(): void {
    this.shipFailures.inc();
  }

  uplinkSeconds(): Map<string, number> {
    const out = new Map(this.seconds);
    if (this.active) out.set(this.active.uplink, (out.get(this.active.uplink) ?? 0) + (this.o.now() - this.active.since) / 1000);
    return out;
  }

  render(): string {
    return this.registry.render();
  }
}

/** Serves GET /metrics on `listen` (host:port); anything else is 404. */
export async function serveMetrics(listen: string, render: () => string): Promise<Server> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
      res.end(render());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
