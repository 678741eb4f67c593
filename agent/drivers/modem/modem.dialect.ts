// Vendor dialects of AT: which commands give signal, PIN counters, mode preference and the data bearer.
import { parseCesq, parseCsq, parseHcsq, parseHuaweiCpin, parseQcsq, parseQuectelPinc, type ModemSignal, type PinRetries } from './at.parse.js';
import type { BearerConfig, ModeConfig } from './modem.driver.js';

export type DialectName = 'huawei' | 'quectel' | 'generic';

export interface Dialect {
  name: DialectName;
  /** Sent after the 3GPP set-up at init; a refusal is tolerated. */
  initCommands: string[];
  /** Tried in order until one answers. */
  signal: Array<{ cmd: string; parse: (lines: readonly string[]) => ModemSignal | undefined }>;
  pinRetries?: { cmd: string; parse: (lines: readonly string[]) => PinRetries | undefined };
  iccid: string[];
  /** Commands setting the network-mode preference, or undefined when the dialect has none. */
  mode(cfg: ModeConfig): string[] | undefined;
  /** How the data bearer is brought up: Huawei NCM (^NDISDUP) or a plain PDP context activation. */
  bearer: 'ndis' | 'cgact';
  /** USSD strings go to and come from the modem as packed GSM 7-bit hex. */
  ussdPacked: boolean;
}

const GENERIC_SIGNAL: Dialect['signal'] = [
  { cmd: 'AT+CESQ', parse: parseCesq },
  { cmd: 'AT+CSQ', parse: parseCsq },
];

const AUTH: Record<NonNullable<BearerConfig['auth']>, number> = { none: 0, pap: 1, chap: 2 };

export function quoteAt(s: string): string {
  if (/["\r\n\x1a]/.test(s)) throw new Error('AT string may not hold quotes or line ends');
  return `"${s}"`;
}

export const huawei: Dialect = {
  name: 'huawei',
  initCommands: ['AT^CURC=1'],
  signal: [{ cmd: 'AT^HCSQ?', parse: parseHcsq }, ...GENERIC_SIGNAL],
  pinRetries: { cmd: 'AT^CPIN?', parse: parseHuaweiCpin },
  iccid: ['AT^ICCID?', 'AT+CCID'],
  mode(cfg) {
    const order: Record<ModeConfig['preference'], string> = { auto: '00', lte: '03', 'lte-3g': '0302', '3g': '02', '2g': '01' };
    // ^SYSCFGEX=<acqorder>,<band>,<roam>,<srvdomain>,<lteband>,,  srvdomain: 1 PS only, 2 CS+PS.
    return [`AT^SYSCFGEX="${order[cfg.preference]}",3FFFFFFF,1,${cfg.psOnly ? 1 : 2},7FFFFFFFFFFFFFFF,,`];
  },
  bearer: 'ndis',
  ussdPacked: true,
};

export const quectel: Dialect = {
  name: 'quectel',
  initCommands: ['AT+QINDCFG="csq",1,0'],
  signal: [{ cmd: 'AT+QCSQ', parse: parseQcsq }, ...GENERIC_SIGNAL],
  pinRetries: { cmd: 'AT+QPINC="SC"', parse: parseQuectelPinc },
  iccid: ['AT+QCCID', 'AT+CCID'],
  mode(cfg) {
    const scan: Record<ModeConfig['preference'], [number, string]> = {
      auto: [0, '00'], lte: [3, '04'], 'lte-3g': [0, '0403'], '3g': [2, '03'], '2g': [1, '01'],
    };
    const [mode, seq] = scan[cfg.preference];
    return [`AT+QCFG="nwscanmode",${mode},1`, `AT+QCFG="nwscanseq",${seq},1`, `AT+QCFG="servicedomain",${cfg.psOnly ? 1 : 2},1`];
  },
  bearer: 'cgact',
  ussdPacked: false,
};

export const generic: Dialect = {
  name: 'generic',
  initCommands: [],
  signal: GENERIC_SIGNAL,
  iccid: ['AT+CCID', 'AT+ICCID'],
  mode: () => undefined,
  bearer: 'cgact',
  ussdPacked: false,
};

export function dialectFor(manufacturer: string | undefined): Dialect {
  const m = (manufacturer ?? '').toLowerCase();
  if (m.includes('huawei')) return huawei;
  if (m.includes('quectel')) return quectel;
  return generic;
}

export function cgdcont(cfg: BearerConfig): string {
  const type = { ipv4: 'IP', ipv6: 'IPV6', ipv4v6: 'IPV4V6' }[cfg.ipType ?? 'ipv4'];
  return `AT+CGDCONT=${cfg.cid ?? 1},"${type}",${quoteAt(cfg.apn)}`;
}

/** Huawei ^NDISDUP=<cid>,1[,"apn"[,"user","password",auth]]; carries the password, so sent as sensitive. */
export function ndisdup(cfg: BearerConfig): string {
  const cid = cfg.cid ?? 1;
  if (cfg.user || cfg.password) {
    return `AT^NDISDUP=${cid},1,${quoteAt(cfg.apn)},${quoteAt(cfg.user ?? '')},${quoteAt(cfg.password ?? '')},${AUTH[cfg.auth ?? 'chap']}`;
  }
  return `AT^NDISDUP=${cid},1,${quoteAt(cfg.apn)}`;
}

/** 3GPP +CGAUTH=<cid>,<auth>,"user","password" for the cgact bearer. */
export function cgauth(cfg: BearerConfig): string | undefined {
  if (!cfg.user && !cfg.password) return undefined;
  return `AT+CGAUTH=${cfg.cid ?? 1},${AUTH[cfg.auth ?? 'chap']},${quoteAt(cfg.user ?? '')},${quoteAt(cfg.password ?? '')}`;
}
