// Opens the Wi-Fi radio driver for one interface: wpa_supplicant's control interface at ctrlPath.
import type { RadioDriver } from '../radio.js';

export async function openRadio(ifname: string, ctrlPath: string): Promise<RadioDriver> {
  void ifname;
  void ctrlPath;
  throw new Error('the wpa_supplicant driver is not wired yet');
}
