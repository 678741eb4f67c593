// One read of what a modem says about itself (identity, SIM, registration, operator, signal, bearer), for status views.
import { maskId, type ModemSignal, type Operator } from './at.parse.js';
import type { BearerStatus, ModemDriver, RegistrationStatus, SimStatus, UnlockResult } from './modem.driver.js';

export interface ModemStatus {
  device: string;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  /** Masked: last four digits only. */
  imei?: string;
  imsi?: string;
  sim: SimStatus & { unlock?: UnlockResult };
  registration: RegistrationStatus;
  operator?: Operator;
  signal: ModemSignal;
  bearer: BearerStatus;
}

/** Reads the status, entering `pin` only if the SIM asks for it (see ModemDriver.unlock). */
export async function readModemStatus(driver: ModemDriver, signal: AbortSignal, opts: { pin?: string } = {}): Promise<ModemStatus> {
  const id = await driver.identity(signal);
  let sim: ModemStatus['sim'] = await driver.simStatus(signal);
  if (sim.state === 'pin' && opts.pin !== undefined) {
    const unlock = await driver.unlock(opts.pin, signal);
    sim = { ...(await driver.simStatus(signal)), unlock };
  }
  const registration = await driver.registration(signal);
  const operator = await driver.operator(signal);
  const sig = await driver.signal(signal);
  const bearer = await driver.bearerStatus(signal);
  const st: ModemStatus = { device: driver.device, sim, registration, signal: sig, bearer };
  if (id.manufacturer) st.manufacturer = id.manufacturer;
  if (id.model) st.model = id.model;
  if (id.firmware) st.firmware = id.firmware;
  if (id.imei) st.imei = maskId(id.imei);
  if (id.imsi) st.imsi = maskId(id.imsi);
  if (operator) st.operator = operator;
  return st;
}

const RAT: Record<string, string> = { lte: 'LTE', umts: '3G', gsm: '2G', nr5g: '5G', none: 'no service', unknown: '?' };

export function formatSignal(s: ModemSignal): string {
  const parts: string[] = [RAT[s.rat] ?? s.rat];
  if (s.rsrpDbm !== undefined) parts.push(`RSRP ${s.rsrpDbm} dBm`);
  if (s.rsrqDb !== undefined) parts.push(`RSRQ ${s.rsrqDb} dB`);
  if (s.sinrDb !== undefined) parts.push(`SINR ${s.sinrDb} dB`);
  if (s.rscpDbm !== undefined) parts.push(`RSCP ${s.rscpDbm} dBm`);
  if (s.ecioDb !== undefined) parts.push(`Ec/Io ${s.ecioDb} dB`);
  if (s.rssiDbm !== undefined) parts.push(`RSSI ${s.rssiDbm} dBm`);
  return parts.join(', ');
}

/** Human-readable lines, label then value. */
export function formatModemStatus(st: ModemStatus): string {
  const rows: Array<[string, string]> = [['device', st.device]];
  rows.push(['modem', [st.manufacturer, st.model].filter(Boolean).join(' ') + (st.firmware ? ` (firmware ${st.firmware})` : '') || 'unknown']);
  if (st.imei) rows.push(['imei', st.imei]);
  if (st.imsi) rows.push(['imsi', st.imsi]);
  const left = st.sim.pinRetries !== undefined ? ` (${st.sim.pinRetries} PIN attempts left)` : '';
  rows.push(['sim', `${st.sim.state}${left}${st.sim.unlock ? `; unlock: ${st.sim.unlock}` : ''}`]);
  const r = st.registration;
  const domains = (['eps', 'gprs', 'cs'] as const).filter((d) => r[d]).map((d) => `${d.toUpperCase()} ${r[d]!.state}`).join(', ');
  rows.push(['registration', `${r.state}${r.rat ? `, ${RAT[r.rat] ?? r.rat}` : ''}${domains ? ` (${domains})` : ''}`]);
  const op = st.operator;
  rows.push(['operator', op?.name || op?.numeric ? `${op.name ?? op.numeric}${op.name && op.numeric ? ` (${op.numeric})` : ''}` : 'none']);
  rows.push(['signal', formatSignal(st.signal)]);
  const a = st.bearer.address;
  rows.push(['bearer', st.bearer.connected ? `up${a?.ipv4 ? ` ${a.ipv4}${a.prefixLength !== undefined ? `/${a.prefixLength}` : ''}` : ''}` : 'down']);
  const w = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${k.padEnd(w)}${v}`).join('\n');
}

/** The status as JSON for `--json`: snake_case, like every other roamlink listing. */
export function modemStatusJson(st: ModemStatus): Record<string, unknown> {
  const s = st.signal;
  const r = st.registration;
  const reg = (x: typeof r.eps) => (x ? { state: x.state, area: x.area, cell_id: x.cellId, rat: x.rat } : undefined);
  return {
    device: st.device,
    manufacturer: st.manufacturer,
    model: st.model,
    firmware: st.firmware,
    imei: st.imei,
    imsi: st.imsi,
    sim: { state: st.sim.state, pin_retries: st.sim.pinRetries, puk_retries: st.sim.pukRetries, unlock: st.sim.unlock },
    registration: { registered: r.registered, state: r.state, rat: r.rat, eps: reg(r.eps), gprs: reg(r.gprs), cs: reg(r.cs) },
    operator: st.operator ? { name: st.operator.name, numeric: st.operator.numeric, rat: st.operator.rat } : null,
    signal: { rat: s.rat, rssi_dbm: s.rssiDbm, rsrp_dbm: s.rsrpDbm, rsrq_db: s.rsrqDb, sinr_db: s.sinrDb, rscp_dbm: s.rscpDbm, ecio_db: s.ecioDb },
    bearer: { connected: st.bearer.connected, ipv4: st.bearer.address?.ipv4, prefix_length: st.bearer.address?.prefixLength, gateway: st.bearer.address?.gateway, dns: st.bearer.address?.dns },
  };
}
