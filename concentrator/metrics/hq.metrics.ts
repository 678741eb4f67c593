// The concentrator's Prometheus metrics: switches by reason, time per uplink, outages, vehicles online, journal backlog;
// every label value bounded (labels.ts), whatever the vehicles send.
import { Counter, Gauge, Histogram, OUTAGE_BUCKETS_S, Registry } from '../../shared/wire/prometheus.js';
import type { SwitchEvent } from '../../shared/wire/switch-event.js';
import type { FleetState } from '../agent-api/fleet.js';
import { reasonLabel } from './labels.js';

export interface HqMetricsOptions {
  fleet: FleetState;
  /** Vehicles registered and not revoked. */
  registered: () => number;
  /** Rows in the switch log (may be slow on a huge log: counted at most once a minute by the caller). */
  stored?: () => number;
}

export class HqMetrics {
  readonly registry = new Registry();
  readonly switches: Counter;
  readonly duplicates: Counter;
  readonly rejected: Counter;
  readonly heartbeats: Counter;
  readonly outage: Histogram;
  readonly ingestSeconds: Histogram;

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
  }

  /** Counts newly stored events (not duplicates). */
  stored(inserted: readonly SwitchEvent[], duplicates: number): void {
    for (const e of inserted) {
      this.switches.inc({ reason: reasonLabel(e.reason) });
      const ms = e.gap_ms ?? e.ms_to_first_packet;
      if (ms !== null) this.outage.observe(ms / 1000);
    }
    if (duplicates) this.duplicates.inc({}, duplicates);
  }

  render(): string {
    return this.registry.render();
  }
}
