// Opens the Wi-Fi radio driver for one interface: wpa_supplicant's control interface at ctrlPath.
import type { Logger } from '../../../shared/log.js';
import type { RadioDriver } from '../radio.js';
import { openWpaDriver } from './wpa.driver.js';

/**
 * Connects to wpa_supplicant's control socket for `ifname`, checks it answers and subscribes to its events.
 * `signal` bounds the wait (default: 5 s, this being start-up, outside any machine).
 */
export async function openRadio(ifname: string, ctrlPath: string, signal: AbortSignal = AbortSignal.timeout(5000), log?: Logger, clientDir?: string): Promise<RadioDriver> {
  // The client socket goes in the agent's run_dir: under systemd the agent's /tmp is private.
  return openWpaDriver({ ifname, ctrlPath, log, clientDir }, signal);
}
