// The fleet as the dashboard and `GET /v1/fleet` show it: registry, live heartbeat state and each vehicle's last switch.
import type { Heartbeat } from '../../shared/wire/heartbeat.js';
import type { HostHealth } from '../../shared/wire/host-health.js';
import type { SwitchEvent } from '../../shared/wire/switch-event.js';
import type { FleetState, Sample } from '../agent-api/fleet.js';
import type { EventStore } from '../store/events/service.js';
import type { StoredEvent } from '../store/events/schema.js';
import type { Vehicle } from '../store/vehicles/schema.js';

export interface LastSwitch {
  id: string;
  at: string;
  from: string | null;
  to: string;
  reason: string;
  ms_to_first_packet: number | null;
}

export interface FleetRow {
  name: string;
  tunnel_address: string;
  /** The site it is registered to (home). */
  home_site: string | null;
  revoked: boolean;
  online: boolean;
  last_heartbeat_at: string | null;
  active: string | null;
  /** Signal of the active uplink (dBm), from the last heartbeat. */
  signal: number | null;
  rtt_ms: number | null;
  /** The site it reports being at. */
  site: string | null;
  journal_backlog: number | null;
  /** HQ's clock minus the vehicle's, from its last heartbeat (ms; transit included): a clock set wrong shows here. */
  clock_offset_ms: number | null;
  last_switch: LastSwitch | null;
  /** The vehicle computer's health, from its last heartbeat that carried one (null: none, or an older agent). */
  health: HostHealth | null;
  /** LTE bytes moved today (UTC, HQ's clock), from the heartbeats' counters since HQ started. */
  lte_bytes_today: number;
}

export interface VehicleDetail extends FleetRow {
  heartbeat: Heartbeat | null;
  history: Sample[];
  /** LTE bytes per UTC day HQ heard it, oldest first (the last 31). */
  lte_days: Array<{ day: string; bytes: number }>;
}

const brief = (e: SwitchEvent | StoredEvent): LastSwitch => ({ id: e.id, at: e.at, from: e.from, to: e.to, reason: e.reason, ms_to_first_packet: e.ms_to_first_packet });

/** Each vehicle's latest switch: read from the store once, then kept current by what is ingested. */
export class LastSwitches {
  private readonly cache = new Map<string, LastSwitch | null>();
  /** Grows with every batch of stored switches. */
  version = 0;
  constructor(private readonly events: Pick<EventStore, 'last'>) {}

  async get(vehicle: string): Promise<LastSwitch | null> {
    if (!this.cache.has(vehicle)) {
      const e = await this.events.last(vehicle);
      this.cache.set(vehicle, e ? brief(e) : null);
    }
    return this.cache.get(vehicle)!;
  }

  /** Newly stored events (a late one from an outage does not replace a later switch). */
  update(inserted: readonly SwitchEvent[]): void {
    if (inserted.length) this.version++;
    for (const e of inserted) {
      if (!this.cache.has(e.vehicle)) continue; // read from the store when first asked
      const cur = this.cache.get(e.vehicle);
      if (!cur || Date.parse(e.at) >= Date.parse(cur.at)) this.cache.set(e.vehicle, brief(e));
    }
  }
}

export async function fleetRow(v: Vehicle, fleet: FleetState, last: LastSwitches): Promise<FleetRow> {
  const live = fleet.get(v.name);
  const hb = live?.last ?? null;
  const act = hb?.uplinks.find((u) => u.name === hb.active) ?? null;
  return {
    name: v.name,
    tunnel_address: v.tunnel_address,
    home_site: v.site,
    revoked: v.revoked_at !== null,
    online: (live?.online ?? false) && v.revoked_at === null,
    last_heartbeat_at: live ? new Date(live.receivedAt).toISOString() : null,
    active: hb?.active ?? null,
    signal: act?.signal ?? null,
    rtt_ms: act?.rtt_ms ?? null,
    site: hb?.site ?? null,
    journal_backlog: hb?.journal_backlog ?? null,
    clock_offset_ms: live ? Math.round(live.clockOffsetMs) : null,
    last_switch: await last.get(v.name),
    health: hb?.health ?? null,
    lte_bytes_today: fleet.lteToday(v.name),
  };
}

export async function vehicleDetail(v: Vehicle, fleet: FleetState, last: LastSwitches): Promise<VehicleDetail> {
  return { ...(await fleetRow(v, fleet, last)), heartbeat: fleet.get(v.name)?.last ?? null, history: fleet.history(v.name), lte_days: fleet.lteDays(v.name) };
}
