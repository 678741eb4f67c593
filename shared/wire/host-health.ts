// The vehicle computer's health as the heartbeat carries it (HQs since 2026-12 take it): CPU temperature, load, memory,
// the disk of state_dir, uptime, and the USB identity of the modem when there is one. Every field may be null: not
// known on this host.
import { z } from 'zod';
import { isoTime } from './common.js';

const bytes = z.number().int().min(0).max(2 ** 53 - 1).nullable().default(null);
const text = z.string().max(64).nullable().default(null);

export const hostHealthSchema = z.strictObject({
  /** When it was sampled (the agent samples at a slow pace; a heartbeat carries the latest sample). */
  at: isoTime,
  /** The hottest thermal zone (°C). */
  cpu_temp_c: z.number().min(-60).max(200).nullable().default(null),
  /** The 1-minute load average. */
  load1: z.number().min(0).max(10_000).nullable().default(null),
  cpus: z.number().int().min(1).max(4096).nullable().default(null),
  mem_total_bytes: bytes,
  /** Memory available to new work (MemAvailable). */
  mem_available_bytes: bytes,
  /** The file system of the agent's state_dir (journal, drives). */
  disk_total_bytes: bytes,
  disk_free_bytes: bytes,
  uptime_s: z.number().min(0).max(1e10).nullable().default(null),
  /** The USB device behind the modem's serial port, when the modem is on USB. */
  modem_usb: z.strictObject({
    vendor_id: z.string().regex(/^[0-9a-f]{4}$/, 'must be 4 hex digits'),
    product_id: z.string().regex(/^[0-9a-f]{4}$/, 'must be 4 hex digits'),
    manufacturer: text,
    product: text,
  }).nullable().default(null),
});

export type HostHealth = z.output<typeof hostHealthSchema>;
export type HostHealthInput = z.input<typeof hostHealthSchema>;
