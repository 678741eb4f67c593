// The vehicle's LTE modem in the lab: an emulated Huawei-style modem on a pseudo-terminal whose signal follows the
// scenario's trace; its data bearer going up or down gives or takes the wwan0 link's carrier, as an NCM modem does.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { signalAt, type Scenario } from '../shared/scenario.js';
import { ModemEmulator } from './modem/modem.emulator.js';
import { PLAN, type Topology } from './topology.js';

export class LabLte {
  private emu: ModemEmulator | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private carrierQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly topo: Topology,
    private readonly sc: Scenario,
    private readonly dir: string,
    private readonly tNow: () => number,
  ) {}

  get devicePath(): string {
    return join(this.dir, 'modem', 'ttyUSB2');
  }

  private signal(): number {
    return Math.round(signalAt(this.sc.lte!.signal, Math.max(0, this.tNow())));
  }

  async start(): Promise<void> {
    // No bearer, no carrier: wwan0 comes up when the agent has dialled.
    await this.topo.carrier(PLAN.modem, false);
    await mkdir(join(this.dir, 'modem'), { recursive: true });
    this.emu = await ModemEmulator.start({ profile: 'huawei', dir: join(this.dir, 'modem'), devicePath: this.devicePath, signal: { rsrp: this.signal() } });
    this.unsubscribe = this.emu.onChange((c) => {
      if (c.type !== 'bearer') return;
      const up = (c as { up: boolean }).up;
      this.carrierQueue = this.carrierQueue.then(() => this.topo.carrier(PLAN.modem, up)).catch(() => {});
    });
    this.timer = setInterval(() => this.emu?.setSignal(this.signal()), 250);
  }

  /** Coverage lost (the network drops the bearer) or back. */
  setCoverage(up: boolean): void {
    this.emu?.setBearer(up);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    await this.emu?.close();
    this.emu = null;
  }
}
