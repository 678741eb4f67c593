// The vehicle computer's health, sampled without spawning a process: memory through systeminformation (it reads
// /proc/meminfo), the rest from /proc and /sys directly (load and uptime from os, the disk of state_dir by statfs(2),
// thermal zones, the modem's USB device found from its serial port). docs/operator-guide.md says why those are not
// systeminformation's own calls: on Linux its cpuTemperature, currentLoad and time run execSync (a shell, blocking the
// event loop), fsSize spawns df and usb spawns lsusb.
import { readdir, readFile, realpath, statfs } from 'node:fs/promises';
import { cpus, loadavg, uptime } from 'node:os';
import { basename, dirname, join } from 'node:path';
import si from 'systeminformation';
import type { HostHealth } from '../../../shared/wire/host-health.js';
import { hottestZone, usbIdentity } from './host.parse.js';

export interface HostDriver {
  /** One sample now. Never rejects: what cannot be read is null. */
  sample(signal: AbortSignal): Promise<HostHealth>;
}

export interface HostDriverOptions {
  /** The agent's state_dir: its file system's size and free space. */
  stateDir: string;
  /** The modem's serial device (e.g. /dev/ttyUSB2 or a /dev/serial/by-id link): its USB identity. */
  modemDevice?: string | null;
  /** Where /sys is (tests: a fixture tree). */
  sysRoot?: string;
  /** Wall-clock ms for the sample's `at` (default Date.now). */
  wallNow?: () => number;
}

const readText = (path: string) => readFile(path, 'utf8').then((t) => t, () => null);

async function cpuTemperature(sys: string): Promise<number | null> {
  const base = join(sys, 'class/thermal');
  const zones = await readdir(base).then((n) => n.filter((z) => z.startsWith('thermal_zone')), () => [] as string[]);
  return hottestZone(await Promise.all(zones.map((z) => readText(join(base, z, 'temp')))));
}

/** The USB device (the sysfs directory with idVendor) above a tty's device, or null (not USB, no modem). */
async function modemUsb(sys: string, device: string): Promise<HostHealth['modem_usb']> {
  const tty = basename(await realpath(device).catch(() => device));
  let dir = await realpath(join(sys, 'class/tty', tty, 'device')).catch(() => null);
  for (let i = 0; dir && i < 6 && dir !== sys && dir !== '/'; i++, dir = dirname(dir)) {
    const idVendor = await readText(join(dir, 'idVendor'));
    if (idVendor === null) continue;
    const [idProduct, manufacturer, product] = await Promise.all(['idProduct', 'manufacturer', 'product'].map((f) => readText(join(dir!, f))));
    return usbIdentity({ idVendor, idProduct: idProduct!, manufacturer: manufacturer!, product: product! });
  }
  return null;
}

export function createHostDriver(o: HostDriverOptions): HostDriver {
  const sys = o.sysRoot ?? '/sys';
  const wallNow = o.wallNow ?? Date.now;
  return {
    async sample() {
      const [mem, disk, temp, usb] = await Promise.all([
        si.mem().catch(() => null),
        statfs(o.stateDir).catch(() => null),
        cpuTemperature(sys),
        o.modemDevice ? modemUsb(sys, o.modemDevice).catch(() => null) : Promise.resolve(null),
      ]);
      const n = cpus().length;
      return {
        at: new Date(wallNow()).toISOString(),
        cpu_temp_c: temp,
        load1: Math.round(loadavg()[0]! * 100) / 100,
        cpus: n > 0 ? n : null,
        mem_total_bytes: mem?.total ?? null,
        mem_available_bytes: mem?.available ?? null,
        disk_total_bytes: disk ? disk.blocks * disk.bsize : null,
        disk_free_bytes: disk ? disk.bavail * disk.bsize : null,
        uptime_s: Math.round(uptime()),
        modem_usb: usb,
      };
    },
  };
}
