// The modem driver contract: what the agent asks of a 3G/LTE modem, whatever speaks to it (AT here, ModemManager later).
import type { ModemSignal, Operator, RegState, Registration, SimState, UssdReply } from './at.parse.js';

export type { ModemSignal, Operator, RegState, Registration, SimState, UssdReply };

export interface ModemIdentity {
  manufacturer?: string;
  model?: string;
  firmware?: string;
  /** Full in memory for the agent's use; log and print them only through maskId(). */
  imei?: string;
  imsi?: string;
}

export interface SimStatus {
  state: SimState;
  /** PIN attempts left, when the modem tells (Huawei ^CPIN, Quectel +QPINC). */
  pinRetries?: number;
  pukRetries?: number;
}

/**
 * The outcome of unlock(). The driver never guesses a PIN and never tries again after a failed attempt
 * (in this process: see PinGuard), so a wrong configured PIN costs the SIM one retry, not three.
 */
export type UnlockResult =
  | 'ready' // no PIN needed
  | 'unlocked'
  | 'no-pin-configured'
  | 'invalid-pin' // the configured PIN is not 4 to 8 digits: not sent
  | 'refused-after-failure' // an earlier attempt with this SIM failed: not sent again
  | 'refused-low-retries' // fewer attempts left than the policy allows: not sent
  | 'wrong-pin'
  | 'puk-required'
  | 'absent'
  | 'busy'
  | 'failed';

export interface RegistrationStatus {
  /** Registered for packet data (EPS or GPRS), or CS when the modem reports nothing else. */
  registered: boolean;
  /** The most telling state of the three domains: EPS, then GPRS, then CS. */
  state: RegState;
  rat?: Registration['rat'];
  cs?: Registration;
  gprs?: Registration;
  eps?: Registration;
}

export type ModePreference = 'auto' | 'lte' | 'lte-3g' | '3g' | '2g';

export interface ModeConfig {
  preference: ModePreference;
  /**
   * Packet-switched only (no CS attach), where the modem offers it. Caveat (2026-11): some networks deliver SMS
   * only with a combined CS/PS attach; leave it off where SMS commands matter.
   */
  psOnly?: boolean;
}

export interface BearerConfig {
  apn: string;
  ipType?: 'ipv4' | 'ipv6' | 'ipv4v6';
  user?: string;
  /** Never logged. */
  password?: string;
  auth?: 'none' | 'pap' | 'chap';
  /** PDP context id, 1 by default. */
  cid?: number;
}

export interface BearerAddress {
  ipv4?: string;
  prefixLength?: number;
  gateway?: string;
  ipv6?: string;
  dns: string[];
}

export interface BearerStatus {
  connected: boolean;
  address?: BearerAddress;
}

/** A received SMS with its parts joined. */
export interface SmsMessage {
  /** Storage indexes of every part, for smsDelete(). */
  ids: number[];
  from: string;
  text: string;
  timestamp?: string;
  /** False while parts of a multi-part message are still missing; `text` then holds what arrived. */
  complete: boolean;
  parts: number;
  status: 'unread' | 'read' | 'unsent' | 'sent' | 'all';
}

export type ModemEvent =
  | { type: 'modem.signal'; signal: ModemSignal }
  | { type: 'modem.registration'; registration: Registration }
  | { type: 'modem.sms'; storage: string; index: number }
  | { type: 'modem.ussd'; reply: UssdReply }
  | { type: 'modem.bearer'; connected: boolean }
  | { type: 'modem.sim'; state: SimState }
  | { type: 'modem.ready' }
  /** The device went away (unplugged, reset, I/O error); the driver is dead, open a new one when it is back. */
  | { type: 'modem.gone'; reason?: string };

/**
 * One modem. Every call takes an AbortSignal and starts no timer of its own beyond the transport's
 * per-command timeout: the caller's machine owns the waits (how long to wait for registration, for the
 * bearer, for a USSD reply). Calls may be repeated. Once the device is gone every call rejects and a
 * `modem.gone` event has been sent; the agent opens a new driver when the device is back.
 *
 * Implementations: the AT driver (modem.at.ts, Huawei-style NCM and Quectel/3GPP dialects). A ModemManager
 * driver (QMI/MBIM through mmcli or D-Bus) fits the same contract: it would map connect() to a simple-connect,
 * bearerStatus() to the bearer's IP config, and sms/ussd to the Messaging and Ussd interfaces.
 */
export interface ModemDriver {
  /** The device path or ModemManager object path. */
  readonly device: string;
  readonly gone: boolean;
  /** Echo off, verbose errors, unsolicited reports on, PDU mode; idempotent. */
  init(signal: AbortSignal): Promise<void>;
  identity(signal: AbortSignal): Promise<ModemIdentity>;
  simStatus(signal: AbortSignal): Promise<SimStatus>;
  /** Enters the configured PIN when, and only when, the SIM asks for it. `pin` is never logged. */
  unlock(pin: string | undefined, signal: AbortSignal): Promise<UnlockResult>;
  registration(signal: AbortSignal): Promise<RegistrationStatus>;
  operator(signal: AbortSignal): Promise<Operator | undefined>;
  signal(signal: AbortSignal): Promise<ModemSignal>;
  /** Network-mode preference; false when this modem offers no way to set it. */
  setMode(mode: ModeConfig, signal: AbortSignal): Promise<boolean>;
  /** Asks for the data bearer; resolves when the modem has taken the request (watch modem.bearer or poll). */
  connect(bearer: BearerConfig, signal: AbortSignal): Promise<void>;
  disconnect(signal: AbortSignal): Promise<void>;
  bearerStatus(signal: AbortSignal): Promise<BearerStatus>;
  /** Radio off (flight mode, the SIM stays unlocked) or on. */
  setRadio(on: boolean, signal: AbortSignal): Promise<void>;
  /** Full modem reset; the device vanishes and comes back, so this driver is gone afterwards. */
  reset(signal: AbortSignal): Promise<void>;
  /** Sends one message (in as many parts as it takes); resolves with the network's message references. */
  smsSend(to: string, text: string, signal: AbortSignal): Promise<number[]>;
  smsList(signal: AbortSignal): Promise<SmsMessage[]>;
  smsDelete(ids: readonly number[], signal: AbortSignal): Promise<void>;
  /** Sends a USSD code and waits for the network's reply (until `signal` aborts). */
  ussd(code: string, signal: AbortSignal): Promise<UssdReply>;
  onEvent(listener: (ev: ModemEvent) => void): () => void;
  close(): Promise<void>;
}

/** Remembers SIMs whose PIN was refused, so no second attempt is made even by a new driver on the same device. */
export interface PinGuard {
  hasFailed(key: string): boolean;
  markFailed(key: string): void;
}

/** In-process guard; the agent may hand in one that persists across restarts. */
export function memoryPinGuard(): PinGuard {
  const failed = new Set<string>();
  return { hasFailed: (k) => failed.has(k), markFailed: (k) => void failed.add(k) };
}

/** The guard used when none is given: shared by every driver in this process. */
export const processPinGuard: PinGuard = memoryPinGuard();
