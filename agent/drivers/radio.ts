// The Wi-Fi radio driver contract: what the agent asks of a client radio (wpa_supplicant in production).

export interface ScanEntry {
  bssid: string; // lower-case aa:bb:cc:dd:ee:ff
  ssid: string;
  /** dBm as the radio reports it. */
  signal: number;
  freq: number;
  /** wpa_supplicant's flags text, e.g. "[WPA2-PSK-CCMP][ESS]". */
  flags: string;
}

export interface RadioNetwork {
  ssid: string;
  bssid?: string;
  /** Absent for an open network. Never logged. */
  psk?: string;
}

export type RadioState = 'DISCONNECTED' | 'INACTIVE' | 'SCANNING' | 'AUTHENTICATING' | 'ASSOCIATING' | 'ASSOCIATED' | '4WAY_HANDSHAKE' | 'GROUP_HANDSHAKE' | 'COMPLETED' | 'INTERFACE_DISABLED' | 'UNKNOWN';

export interface RadioStatus {
  state: RadioState;
  ssid?: string;
  bssid?: string;
  freq?: number;
}

export type RadioEvent =
  | { type: 'radio.connected'; bssid: string; ssid?: string }
  | { type: 'radio.disconnected'; bssid?: string; reason?: number }
  | { type: 'radio.scan-results' }
  /** An association attempt failed: reason as wpa_supplicant says it (WRONG_KEY, AUTH_FAILED, CONN_FAILED,
   *  ASSOC_REJECT status_code=N, NETWORK_NOT_FOUND). wpa_supplicant keeps retrying on its own; a machine may give up. */
  | { type: 'radio.connect-failed'; ssid?: string; reason: string }
  | { type: 'radio.gone' };

/**
 * One client radio. Every call takes an AbortSignal and starts no timer of its own: the caller's machine owns
 * the timeouts. Calls may be repeated; connect() to the network already in use is a no-op.
 */
export interface RadioDriver {
  readonly ifname: string;
  /** Triggers a scan and returns its results (or the last results, if a scan is already under way). */
  scan(signal: AbortSignal): Promise<ScanEntry[]>;
  /** Asks the radio to associate with this network; resolves once the request is taken, not when associated. */
  connect(net: RadioNetwork, signal: AbortSignal): Promise<void>;
  disconnect(signal: AbortSignal): Promise<void>;
  status(signal: AbortSignal): Promise<RadioStatus>;
  /** The signal of the current association in dBm, or null when not associated. */
  signalPoll(signal: AbortSignal): Promise<number | null>;
  /** Subscribes to the radio's unsolicited events; returns the unsubscribe function. */
  onEvent(listener: (ev: RadioEvent) => void): () => void;
  close(): Promise<void>;
}
