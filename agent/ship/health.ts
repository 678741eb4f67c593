// The vehicle computer's health for the heartbeat, `roamlink status` and the agent's /metrics: sampled by the host
// driver every intervalMs (a slow pace, off the switch path: one sample reads a dozen small files), the latest kept.
import type { Timer } from '../../shared/clock.js';
import type { HostHealth } from '../../shared/wire/host-health.js';
import type { HostDriver } from '../drivers/host/host.driver.js';

export interface HealthSamplerDeps {
  driver: HostDriver;
  timer: Timer;
  intervalMs: number;
  onError?: (err: Error) => void;
}

/** Samples now, then intervalMs after each sample ends (never two at once); latest() is the last good one. */
export class HealthSampler {
  private last: HostHealth | null = null;
  private handle: unknown = null;
  private stopped = false;
  private inflight: Promise<void> | null = null;
  private readonly ac = new AbortController();

  constructor(private readonly d: HealthSamplerDeps) {}

  latest(): HostHealth | null {
    return this.last;
  }

  start(): void {
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.d.timer.clear(this.handle);
    this.ac.abort();
    await this.inflight;
  }

  private tick(): void {
    if (this.stopped) return;
    this.inflight = (async () => {
      try {
        this.last = await this.d.driver.sample(this.ac.signal);
      } catch (err) {
        this.d.onError?.(err as Error);
      } finally {
        this.inflight = null;
        if (!this.stopped) this.handle = this.d.timer.set(() => this.tick(), this.d.intervalMs);
      }
    })();
  }
}

const size = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${Math.round(b / 1e6)} MB`);
function span(s: number): string {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
}

/** One line for `roamlink status` (pure): what is known, "?" for what is not. */
export function healthLine(h: HostHealth | null): string {
  if (!h) return 'host: no sample yet (or health: { enabled: false })';
  const parts = [
    h.cpu_temp_c === null ? 'temperature ?' : `${h.cpu_temp_c.toFixed(1)} °C`,
    h.load1 === null ? 'load ?' : `load ${h.load1.toFixed(2)}${h.cpus ? ` (${h.cpus} cpus)` : ''}`,
    h.mem_available_bytes === null ? 'memory ?' : `memory ${size(h.mem_available_bytes)} free${h.mem_total_bytes ? ` of ${size(h.mem_total_bytes)}` : ''}`,
    h.disk_free_bytes === null ? 'disk ?' : `disk ${size(h.disk_free_bytes)} free${h.disk_total_bytes ? ` of ${size(h.disk_total_bytes)}` : ''}`,
    h.uptime_s === null ? 'up ?' : `up ${span(h.uptime_s)}`,
  ];
  if (h.modem_usb) parts.push(`modem USB ${h.modem_usb.vendor_id}:${h.modem_usb.product_id}${h.modem_usb.product ? ` ${[h.modem_usb.manufacturer, h.modem_usb.product].filter(Boolean).join(' ')}` : ''}`);
  return `host: ${parts.join(', ')} (sampled ${h.at})`;
}
