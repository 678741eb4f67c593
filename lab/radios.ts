// The vehicle's two Wi-Fi radios in the lab: an emulated wpa_supplicant control interface each, whose scan results
// follow the scenario's signal traces and whose associations move the radio's link onto that AP's segment.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { signalAt, type Scenario } from '../shared/scenario.js';
import { PLAN, type Topology } from './topology.js';
import { WpaEmulator } from './wifi/wpa.emulator.js';

export class LabRadios {
  private readonly emulators: WpaEmulator[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly topo: Topology,
    private readonly sc: Scenario,
    private readonly dir: string,
    /** Scenario time (ms); negative before the run starts, when the traces' first values hold. */
    private readonly tNow: () => number,
  ) {}

  ctrlPath(radio: string): string {
    return join(this.dir, 'wpa', radio);
  }

  /** The APs as a radio sees them now. */
  private aps() {
    const t = Math.max(0, this.tNow());
    return this.sc.aps.map((ap, i) => ({
      bssid: this.topo.aps[i]!.bssid,
      ssid: ap.ssid,
      signal: Math.round(signalAt(ap.signal, t)),
      freq: 2412 + 5 * (i % 13),
      security: ap.psk !== undefined ? ('psk' as const) : ('open' as const),
      psk: ap.psk,
    }));
  }

  async start(): Promise<void> {
    await mkdir(join(this.dir, 'wpa'), { recursive: true });
    for (const radio of PLAN.radios) {
      const emu = new WpaEmulator({
        ctrlPath: this.ctrlPath(radio),
        ifname: radio,
        aps: () => this.aps(),
        associate: async (ap) => {
          const index = ap ? this.topo.aps.findIndex((a) => a.bssid === ap.bssid) : -1;
          await this.topo.associate(radio, index >= 0 ? index : null);
        },
      });
      await emu.start();
      this.emulators.push(emu);
    }
    // Signals change with time: the radios re-check their association (bounded: stopped with the lab).
    this.timer = setInterval(() => {
      for (const e of this.emulators) void e.tick();
    }, 100);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.emulators.map((e) => e.stop()));
    this.emulators.length = 0;
  }
}
