// The concentrator's Prometheus metrics: switches by reason, time per uplink, outages, vehicles online, journal backlog;
// every label value bounded (labels.ts), whatever the vehicles send; per-vehicle series for the registered vehicles only;
// the process's own metrics and roamlink_build_info (shared/process.metrics.ts).
import { Counter, Gauge, Histogram, OUTAGE_BUCKETS_S, Registry } from '../../shared/wire/prometheus.js';
import { registerProcessMetrics } from '../../shared/process.metrics.js';
import type { SwitchEvent } from '../../shared/wire/switch-event.js';
import type { HostHealth } from '../../shared/wire/host-health.js';
import type { FleetState } from '../agent-api/fleet.js';
import { reasonLabel } from './labels.js';

export interface HqMetricsOptions {
  fleet: FleetState;
  /** Vehicles registered and not revoked. */
  registered: () => number;
  /** Rows in the switch log (may be slow on a huge log: counted at most once a minute by the caller). */
  stored?: () => number;
  /**
   * The names of the vehicles registered and not revoked: the per-vehicle series (roamlink_vehicle_*) show these and no
   * others, so the `vehicle` label is bounded by the registry, whatever reaches HQ. Absent: no per-vehicle series.
   */
  vehicles?: () => readonly string[];
  /** Registers process_* and nodejs_* metrics (default true; tests of exact output turn it off). */
  process?: boolean;
}

/** The kinds of uplink roamlink_vehicle_active_uplink shows; "none" when no uplink carries the tunnel. */
export const UPLINK_KINDS = ['wifi', 'lte', 'ethernet', 'none'] as const;

export class HqMetrics {
  readonly registry = new Registry();
  readonly switches: Counter;
  readonly duplicates: Counter;
  readonly rejected: Counter;
  readonly heartbeats: Counter;
  readonly outage: Histogram;
  readonly ingestSeconds: Histogram;
  /** Stored switches per vehicle since HQ started (the vehicle label is bounded: events come from registered vehicles). */
  private readonly byVehicle = new Map<string, number>();
  private readonly stopProcess: () => void = () => {};

  constructor(o: HqMetricsOptions) {
    const r = this.registry;
    this.switches = r.register(new Counter('roamlink_switches_total', 'Switch events stored (each once), by reason (a reason HQ does not know counts as "other").', ['reason']));
    this.duplicates = r.register(new Counter('roamlink_switch_events_duplicate_total', 'Switch events received again (retries after a lost acknowledgement); not stored twice.'));
    this.rejected = r.register(new Counter('roamlink_agent_api_rejected_total', 'Agent API requests refused, by error code.', ['code']));
    this.heartbeats = r.register(new Counter('roamlink_heartbeats_total', 'Heartbeats received from vehicles.'));
    this.outage = r.register(new Histogram('roamlink_switch_outage_seconds', "Each stored switch's outage: the measured traffic gap, else decision to first packet on the new path.", OUTAGE_BUCKETS_S));
    this.ingestSeconds = r.register(new Histogram('roamlink_ingest_duration_seconds', 'Time to validate and durably store one POST /v1/events.', [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1]));
    r.register(
      new Counter('roamlink_uplink_seconds_total', "Seconds vehicles spent on each uplink, as their heartbeats report (since this concentrator started; past 32 uplink names, \"other\").", ['uplink'], () =>
        [...o.fleet.uplinkSeconds()].map(([uplink, value]) => ({ labels: { uplink }, value })),
      ),
    );
    r.register(new Gauge('roamlink_vehicles_online', 'Vehicles heard from within the offline timeout.', [], () => o.fleet.onlineCount()));
    r.register(new Gauge('roamlink_vehicles_registered', 'Vehicles registered and not revoked.', [], () => o.registered()));
    r.register(new Gauge('roamlink_journal_backlog_events', "Switch events online vehicles hold in their journals, not yet acknowledged by HQ.", [], () => o.fleet.backlog().sum));
    r.register(new Gauge('roamlink_journal_backlog_max_events', 'The largest journal backlog of one online vehicle.', [], () => o.fleet.backlog().max));
    if (o.stored) r.register(new Gauge('roamlink_switch_log_events', 'Switch events stored in the log.', [], o.stored));
    if (o.vehicles) this.perVehicle(o.fleet, o.vehicles);
    if (o.process !== false) this.stopProcess = registerProcessMetrics(r, 'hq');
  }

  private perVehicle(fleet: FleetState, names: () => readonly string[]): void {
    const r = this.registry;
    const each = (value: (name: string) => number | null) => () =>
      names().flatMap((vehicle) => {
        const v = value(vehicle);
        return v === null ? [] : [{ labels: { vehicle }, value: v }];
      });
    const hb = (name: string) => fleet.get(name)?.last ?? null;
    r.register(new Gauge('roamlink_vehicle_online', 'Whether the vehicle was heard from within the offline timeout (1) or not (0).', ['vehicle'], each((n) => (fleet.online(n) ? 1 : 0))));
    r.register(new Gauge('roamlink_vehicle_last_heartbeat_timestamp_seconds', "When HQ last received the vehicle's heartbeat (seconds since the epoch; absent until one arrives after HQ started).", ['vehicle'], each((n) => {
      const live = fleet.get(n);
      return live ? live.receivedAt / 1000 : null;
    })));
    r.register(new Gauge('roamlink_vehicle_active_uplink', 'The kind of uplink carrying the tunnel, as its last heartbeat said: 1 for that kind, 0 for the others ("none": no uplink).', ['vehicle', 'kind'], () =>
      names().flatMap((vehicle) => {
        const h = hb(vehicle);
        if (!h) return [];
        const kind = h.uplinks.find((u) => u.name === h.active)?.kind ?? 'none';
        return UPLINK_KINDS.map((k) => ({ labels: { vehicle, kind: k }, value: k === kind ? 1 : 0 }));
      }),
    ));
    r.register(new Gauge('roamlink_vehicle_signal_dbm', 'Signal of the uplink carrying the tunnel (Wi-Fi dBm, LTE RSRP dBm), as its last heartbeat said.', ['vehicle'], each((n) => {
      const h = hb(n);
      return h?.uplinks.find((u) => u.name === h.active)?.signal ?? null;
    })));
    r.register(new Counter('roamlink_vehicle_switches_total', 'Switch events stored for the vehicle since HQ started.', ['vehicle'], each((n) => this.byVehicle.get(n) ?? 0)));
    r.register(new Gauge('roamlink_vehicle_lte_bytes_today', "LTE bytes (received + sent) the vehicle moved today (UTC, HQ's clock), from its heartbeats' interface counters since HQ started.", ['vehicle'], each((n) => (hb(n) ? fleet.lteToday(n) : null))));
    const health = (name: string, help: string, pick: (h: HostHealth) => number | null) =>
      r.register(new Gauge(name, `${help} (the vehicle's last health sample).`, ['vehicle'], each((n) => {
        const h = hb(n)?.health;
        return h ? pick(h) : null;
      })));
    health('roamlink_vehicle_cpu_temperature_celsius', "The vehicle computer's hottest thermal zone (°C)", (h) => h.cpu_temp_c);
    health('roamlink_vehicle_load1', "The vehicle computer's 1-minute load average", (h) => h.load1);
    health('roamlink_vehicle_memory_available_bytes', "The vehicle computer's available memory", (h) => h.mem_available_bytes);
    health('roamlink_vehicle_disk_free_bytes', "Free bytes on the agent's state_dir file system", (h) => h.disk_free_bytes);
    health('roamlink_vehicle_disk_size_bytes', "Size of the agent's state_dir file system", (h) => h.disk_total_bytes);
    health('roamlink_vehicle_uptime_seconds', 'Seconds since the vehicle computer booted', (h) => h.uptime_s);
    r.register(new Gauge('roamlink_vehicle_journal_backlog_events', 'Switch events the vehicle holds in its journal, not yet acknowledged by HQ (last heartbeat).', ['vehicle'], each((n) => hb(n)?.journal_backlog ?? null)));
  }

  /** Ends the event loop sampling (at shutdown). */
  close(): void {
    this.stopProcess();
  }

  /** Counts newly stored events (not duplicates). */
  stored(inserted: readonly SwitchEvent[], duplicates: number): void {
    for (const e of inserted) {
      this.switches.inc({ reason: reasonLabel(e.reason) });
      this.byVehicle.set(e.vehicle, (this.byVehicle.get(e.vehicle) ?? 0) + 1);
      const ms = e.gap_ms ?? e.ms_to_first_packet;
      if (ms !== null) this.outage.observe(ms / 1000);
    }
    if (duplicates) this.duplicates.inc({}, duplicates);
  }

  render(): string {
    return this.registry.render();
  }
}
