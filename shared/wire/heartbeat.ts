// The agent's heartbeat: every few seconds, its uplinks, the active one, its site, modem balance, interface counters.
import { z } from 'zod';
import { dbm, isoTime, siteName, uplinkName, vehicleName } from './common.js';
import { hostHealthSchema } from './host-health.js';

export const uplinkReportSchema = z.strictObject({
  name: uplinkName,
  kind: z.enum(['wifi', 'lte', 'ethernet']),
  /** The uplink machine's phase (down, addressing, configuring, probing, ready, ...). */
  state: z.string().max(32),
  ready: z.boolean(),
  signal: dbm.nullable().default(null),
  rtt_ms: z.number().min(0).max(600_000).nullable().default(null),
  loss: z.number().min(0).max(1).nullable().default(null),
  /** Wi-Fi: the AP in use. */
  ap: z.strictObject({ ssid: z.string().max(32), bssid: z.string().max(17) }).nullable().default(null),
  /** Kernel interface counters (/sys/class/net/IF/statistics). */
  rx_bytes: z.number().int().min(0).nullable().default(null),
  tx_bytes: z.number().int().min(0).nullable().default(null),
});

export const heartbeatSchema = z.strictObject({
  vehicle: vehicleName,
  at: isoTime,
  active: uplinkName.nullable(),
  site: siteName.nullable().default(null),
  uplinks: z.array(uplinkReportSchema).max(16),
  modem: z
    .strictObject({
      /** Prepaid balance as the carrier reported it, and when. */
      balance: z.number().nullable().default(null),
      currency: z.string().max(8).nullable().default(null),
      balance_at: isoTime.nullable().default(null),
      operator: z.string().max(64).nullable().default(null),
    })
    .nullable()
    .default(null),
  /** Switch events journaled but not yet acknowledged by HQ. */
  journal_backlog: z.number().int().min(0).default(0),
  /** The site profile set version the agent applies (null: none yet). */
  sites_version: z.number().int().min(0).nullable().default(null),
  /** The vehicle computer's health (host-health.ts). Sent only to an HQ whose reply said `health: true`. */
  health: hostHealthSchema.nullable().default(null),
});

export type UplinkReport = z.output<typeof uplinkReportSchema>;
export type Heartbeat = z.output<typeof heartbeatSchema>;
export type HeartbeatInput = z.input<typeof heartbeatSchema>;

/** HQ's answer to a heartbeat: the current profile set version (fetch it when it differs from yours). */
export interface HeartbeatReply {
  sites_version: number;
  /**
   * HQ takes the agent's clocks: events' `mono` and a batch's `sent` (HQs since 2026-12). Until an HQ says so, the
   * agent ships without them: an older HQ refuses unknown fields, and the agent would set every event aside.
   */
  mono?: boolean;
  /** HQ takes the heartbeat's `health` (HQs since 2026-12); an older HQ refuses the field, so the agent leaves it out. */
  health?: boolean;
  /**
   * How far HQ's switch log is durable as it answered (HQs since 2026-12, switch-event.ts's DurableMark): settles the
   * agent's accepted batches without a request of their own. Unvalidated until the agent parses it.
   */
  durable?: unknown;
}
