// The radios: one wpa_supplicant control interface per Wi-Fi uplink, opened before the tunnel (adoption asks them
// which AP they are on).
import type { AgentConfig } from '../../shared/config/agent.js';
import type { Logger } from '../../shared/log.js';
import type { RadioDriver } from '../drivers/radio.js';
import { openRadio } from '../drivers/wpa/open.js';

export async function openRadios(cfg: AgentConfig, log: Logger): Promise<Map<string, RadioDriver>> {
  const radios = new Map<string, RadioDriver>();
  for (const u of cfg.uplinks) {
    if (u.kind !== 'wifi') continue;
    radios.set(u.name, await openRadio(u.name, u.ctrl_path ?? `/run/wpa_supplicant/${u.name}`, undefined, log, cfg.run_dir));
  }
  return radios;
}
