// Property-based fuzzing of every parser of outside input (fast-check, seeded, bounded): each parses or throws its own named error, fast.
//
// Inputs come in three shapes per parser: token soup (fragments of the real format in random order), blow-ups (one
// fragment repeated up to 20,000 characters: what found the quadratic balance regex), and mutations of real samples
// (splices, cuts, duplications). Per input: the error, if any, must be one the parser names (InputError or the
// module's own), and the time must stay under LIMIT_MS. Time is the process's CPU time (process.cpuUsage), not the
// wall clock: with 2 cores and a load of 10 (other builds beside), wall time per input was 5× the CPU time. A slow
// input is timed twice more and the fastest run counts (a GC pause is not repeatable, a slow algorithm is); it fails
// above LIMIT_MS × MARGIN. YAML texts stay within MAX_YAML_FUZZ characters, the size of real configs and scenarios:
// the yaml package itself is linear but slow (about 13 µs per line on this machine under load).
// ROAMLINK_FUZZ_SEED and ROAMLINK_FUZZ_SCALE (a multiplier of the run counts) reproduce or widen a run.
import { test, type TestContext } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import * as at from '../../agent/drivers/modem/at.parse.js';
import { decodePdu, PduError, unpackGsm7Hex, encodeSubmit } from '../../agent/drivers/modem/sms.pdu.js';
import { parseEvent, parseListNetworks, parseScanResults, parseSignalPoll, parseStatus, decodeSsid, WpaParseError } from '../../agent/drivers/wpa/wpa.parse.js';
import { parseBalance } from '../../agent/balance/balance.parse.js';
import { balanceFromText, BalanceError } from '../../agent/balance/balance.check.js';
import { parseAgentConfig } from '../../shared/config/agent.js';
import { parseModemConfig } from '../../shared/config/modem.js';
import { parseConnectList } from '../../shared/config/connect-list.js';
import { checkHqConfig } from '../../shared/config/hq.js';
import { parseScenario } from '../../shared/scenario.js';
import { parseYaml } from '../../shared/yaml.js';
import { parseDuration } from '../../shared/duration.js';
import { InputError } from '../../shared/errors.js';
import { DriveError, parseDrive } from '../../shared/wire/drive.js';

const SEED = Number(process.env.ROAMLINK_FUZZ_SEED ?? 20261203);
const SCALE = Number(process.env.ROAMLINK_FUZZ_SCALE ?? 1);
/** The goal per input. */
const LIMIT_MS = 10;
/** The assertion's allowance over the goal, for a loaded 2-core machine (YAML of 1.4 KB measured 17-25 ms of CPU at a load of 10, min of 3); a quadratic parser is 100× over. */
const MARGIN = 5;
const MAX_BLOWUP = 20_000;
const MAX_YAML_FUZZ = 6_000;
const ROOT = join(import.meta.dirname, '../../..');

type ErrorClass = abstract new (...args: never[]) => Error;

interface FuzzResult { runs: number; worstMs: number; worstSize: number; errors: number }

function sizeOf(x: unknown): number {
  if (typeof x === 'string') return x.length;
  try {
    return JSON.stringify(x)?.length ?? 0;
  } catch {
    return 0;
  }
}

/** Runs the property; returns what was measured. Throws (with fast-check's counterexample and seed) on a breach. */
function fuzz<T>(t: TestContext, name: string, arb: fc.Arbitrary<T>, run: (x: T) => unknown, allowed: ErrorClass[], runs: number, label: (x: T) => string = () => ''): FuzzResult {
  const r: FuzzResult = { runs: Math.max(1, Math.round(runs * SCALE)), worstMs: 0, worstSize: 0, errors: 0 };
  let worstLabel = '';
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const d = process.cpuUsage(since);
    return (d.user + d.system) / 1000;
  };
  const once = (x: T): { ms: number; err?: unknown } => {
    const t0 = process.cpuUsage();
    try {
      run(x);
      return { ms: cpuMs(t0) };
    } catch (err) {
      return { ms: cpuMs(t0), err: err ?? new Error('undefined thrown') };
    }
  };
  fc.assert(fc.property(arb, (x) => {
    const first = once(x);
    if (first.err !== undefined) {
      if (!allowed.some((c) => first.err instanceof c)) {
        const e = first.err as Error;
        throw new Error(`${name}: threw ${e?.name ?? typeof e} (${String(e?.message).slice(0, 120)}), not one of ${allowed.map((c) => c.name).join(', ')}`);
      }
      r.errors++;
    }
    let ms = first.ms;
    if (ms > LIMIT_MS) ms = Math.min(ms, once(x).ms, once(x).ms);
    if (ms > r.worstMs) {
      r.worstMs = ms;
      r.worstSize = sizeOf(x);
      worstLabel = label(x);
    }
    if (ms > LIMIT_MS * MARGIN) throw new Error(`${name}${label(x)}: ${ms.toFixed(1)} ms for an input of ${sizeOf(x)} characters (goal ${LIMIT_MS} ms)`);
  }), { seed: SEED, numRuns: r.runs, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true, includeErrorInReport: true });
  t.diagnostic(`${name}: ${r.runs} inputs, seed ${SEED}, ${r.errors} named errors, worst ${r.worstMs.toFixed(2)} ms (${worstLabel}input of ${r.worstSize} chars)`);
  return r;
}

// --- input shapes ---------------------------------------------------------------------------------------------

/** Fragments of the format, and short random strings, joined in random order. */
function soup(tokens: readonly string[], maxTokens = 60): fc.Arbitrary<string> {
  return fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'binary' }) }), { maxLength: maxTokens })
    .map((a) => a.join(''));
}

/** One fragment repeated up to MAX_BLOWUP characters, between two others. */
function blowup(tokens: readonly string[], max = MAX_BLOWUP): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...tokens), fc.constantFrom(...tokens), fc.integer({ min: 1, max }), fc.constantFrom(...tokens))
    .map(([pre, rep, n, post]) => pre + rep.repeat(Math.max(1, Math.floor(n / Math.max(1, rep.length)))) + post);
}

/** A real sample, edited: characters replaced, cut, duplicated or inserted at random places. */
function mutated(samples: readonly string[]): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.string({ maxLength: 4, unit: 'binary' }), fc.boolean());
  return fc.tuple(fc.constantFrom(...samples), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([s, edits]) => {
    let out = s;
    for (const [pos, len, ins, dup] of edits) {
      const i = out.length ? pos % out.length : 0;
      out = dup ? out.slice(0, i) + out.slice(i, i + len).repeat(3) + out.slice(i) : out.slice(0, i) + ins + out.slice(i + len);
    }
    return out;
  });
}

function inputs(tokens: readonly string[], samples: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(soup(tokens), blowup(tokens), mutated(samples));
}

const DIGITS = ['0', '1', '9', '12', '255', '99', '-', '.', ',', ' ', '"', '\r\n', '\n', '\t'];

// --- AT replies ---------------------------------------------------------------------------------------------------

const AT_TOKENS = [...DIGITS, '+CSQ: ', '+CESQ: ', '^HCSQ: ', '+QCSQ: ', '^RSSI: ', '+CREG: ', '+CGREG: ', '+CEREG: ', '+COPS: ', '+CGPADDR: ',
  '^DHCP: ', '^NDISSTAT: ', '+CGACT: ', '+CGEV: ', '+CUSD: ', '+CMGL: ', '+CMTI: ', '+CMGS: ', '+CGCONTRDP: ', '+CPIN: ', '^CPIN: ',
  '+QPINC: ', '+CGSN: ', '+CIMI: ', '"LTE"', '"WCDMA"', '"SC"', 'SIM PIN', 'READY', '0791', '07914', 'FF', 'ME PDP DEACT', '"SM"', '1A2B', '"0A000001"'];
const AT_SAMPLES = [
  '+CSQ: 20,99', '+CESQ: 99,99,255,255,20,60', '^HCSQ: "LTE",50,45,120,20', '+QCSQ: "LTE",-60,-90,150,-10', '+CREG: 2,1,"1A2B","01C3D4E5",7',
  '+COPS: 0,0,"Vodafone.de",7', '+CGPADDR: 1,"10.1.2.3","254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1"', '^DHCP: 0100000a,00ffffff,0200000a,0200000a,08080808,04040808,150000000,150000000',
  '^NDISSTAT: 1,,,"IPV4"', '+CGACT: 1,1', '+CGEV: ME PDN ACT 1', '+CUSD: 0,"Guthaben: 7,35 EUR",15', '+CMTI: "SM",3', '+CMGS: 42',
  '+CGCONTRDP: 1,5,"internet","10.1.2.3.255.255.255.0","10.1.2.1","8.8.8.8","8.8.4.4"', '+CPIN: SIM PIN', '^CPIN: SIM PIN,3,10,3,10,3',
  '+QPINC: "SC",3,10', '+CMGL: 1,0,,23\r\n0011000B916407281553F80000A70AE8329BFD4697D9EC37',
];

const lines = (text: string) => text.split(/\r\n|\r|\n/);
/** Every parser of modem replies, each given one reply (its lines) or its first line. */
const AT_PARSERS: Array<[string, (text: string) => unknown]> = [
  ['splitFields', (s) => at.splitFields(lines(s)[0]!)], ['fieldsOf', (s) => at.fieldsOf(lines(s)[0]!, '+CSQ')],
  ['parseIdentityLine', (s) => at.parseIdentityLine(lines(s), '+CGMI')], ['parseImei', (s) => at.parseImei(lines(s))], ['parseImsi', (s) => at.parseImsi(lines(s))],
  ['parseCpin', (s) => at.parseCpin(lines(s))], ['cpinCode', (s) => at.cpinCode(s)], ['parseHuaweiCpin', (s) => at.parseHuaweiCpin(lines(s))],
  ['parseQuectelPinc', (s) => at.parseQuectelPinc(lines(s))], ['parseCsq', (s) => at.parseCsq(lines(s))], ['parseCesq', (s) => at.parseCesq(lines(s))],
  ['parseHcsq', (s) => at.parseHcsq(lines(s))], ['parseQcsq', (s) => at.parseQcsq(lines(s))], ['parseRssiUrc', (s) => at.parseRssiUrc(s)],
  ['regDomainOf', (s) => at.regDomainOf(s)], ['isRegistrationUrc', (s) => at.isRegistrationUrc(s)], ['parseRegistrationLine', (s) => at.parseRegistrationLine(s)],
  ['parseRegistration', (s) => at.parseRegistration(lines(s), 'eps')], ['parseCops', (s) => at.parseCops(lines(s))], ['dottedToIp', (s) => at.dottedToIp(s)],
  ['parseCgpaddr', (s) => at.parseCgpaddr(lines(s))], ['hexLeToIp', (s) => at.hexLeToIp(s)], ['parseHuaweiDhcp', (s) => at.parseHuaweiDhcp(lines(s))],
  ['parseNdisStat', (s) => at.parseNdisStat(s)], ['parseCgact', (s) => at.parseCgact(lines(s))], ['parseCgev', (s) => at.parseCgev(s)],
  ['parseCusd packed', (s) => at.parseCusd(s, { packed: true })], ['parseCusd', (s) => at.parseCusd(s)], ['parseTextTimestamp', (s) => at.parseTextTimestamp(s)],
  ['parseSmsList pdu', (s) => at.parseSmsList(lines(s), { mode: 'pdu' })], ['parseSmsList text', (s) => at.parseSmsList(lines(s), { mode: 'text' })],
  ['parseCmti', (s) => at.parseCmti(s)], ['parseCmgs', (s) => at.parseCmgs(lines(s))], ['parseCgcontrdp', (s) => at.parseCgcontrdp(lines(s))],
];

/** Each input goes to one parser of the table (timed alone), chosen by the generator. */
function oneOf(parsers: Array<[string, (text: string) => unknown]>, text: fc.Arbitrary<string>) {
  return {
    arb: fc.tuple(fc.nat({ max: parsers.length - 1 }), text),
    run: ([i, s]: [number, string]) => parsers[i]![1](s),
    label: ([i]: [number, string]) => `${parsers[i]![0]}: `,
  };
}

test('fuzz: AT replies (at.parse)', (t) => {
  const f = oneOf(AT_PARSERS, inputs(AT_TOKENS, AT_SAMPLES));
  fuzz(t, 'at.parse', f.arb, f.run, [PduError], 600, f.label);
});

// --- SMS PDUs -----------------------------------------------------------------------------------------------------

const HEX = [...'0123456789ABCDEF'].map((c) => c);
const PDU_SAMPLES = [
  '0011000B916407281553F80000A70AE8329BFD4697D9EC37',
  '00440ED0D637396C7EBBCB0008421112210300400B06080412340302006F006B',
  '00040DD0D432BBBC7EB70100004211122103004002EF35',
  '07919471101010F0040B919471101010F00000422141123456400AE8329BFD4697D9EC37',
  ...encodeSubmit('+491701234567', 'Einsatz: Fahrzeug 12 bitte Rückmeldung. 🚑 '.repeat(5)).map((p) => p.pdu),
];

test('fuzz: SMS PDUs (sms.pdu)', (t) => {
  const hex = fc.oneof(
    fc.array(fc.constantFrom(...HEX), { maxLength: 400 }).map((a) => a.join('')),
    blowup([...HEX, '00', 'FF', '07', '91', '0B']),
    mutated(PDU_SAMPLES),
    mutated(PDU_SAMPLES).map((s) => s.replace(/[^0-9A-F]/gi, '0')),
  );
  fuzz(t, 'sms.pdu', hex, (h) => {
    for (const hasSmsc of [true, false]) {
      try {
        decodePdu(h, { hasSmsc });
      } catch (err) {
        if (!(err instanceof PduError)) throw err;
      }
    }
    unpackGsm7Hex(h);
  }, [PduError], 400);
});

// --- wpa_supplicant replies ---------------------------------------------------------------------------------------

const WPA_TOKENS = [...DIGITS, 'bssid / frequency / signal level / flags / ssid\n', 'network id / ssid / bssid / flags\n', '02:00:00:00:01:00', '\t',
  '[WPA2-PSK-CCMP][ESS]', '[CURRENT]', 'wpa_state=', 'COMPLETED', 'ssid=', 'bssid=', 'freq=', 'RSSI=', 'LINKSPEED=', 'NOISE=', 'FREQUENCY=',
  '\\x', 'c3', '\\\\', '\\"', '<3>', 'CTRL-EVENT-CONNECTED', 'CTRL-EVENT-DISCONNECTED', ' bssid=', ' reason=', ' [id=0 id_str=]', 'CTRL-EVENT-SCAN-RESULTS', '='];
const WPA_SAMPLES = [
  'bssid / frequency / signal level / flags / ssid\n02:00:00:00:01:00\t2412\t-48\t[WPA2-PSK-CCMP][ESS]\tdepot\n02:00:00:00:03:00\t2437\t-80\t[ESS]\tcaf\\xc3\\xa9 \\"x\\" \\\\ y\n',
  'bssid=02:00:00:00:01:00\nfreq=2412\nssid=depot\nid=0\nmode=station\nkey_mgmt=WPA2-PSK\nwpa_state=COMPLETED\naddress=02:00:00:00:aa:01\n',
  'RSSI=-48\nLINKSPEED=54\nNOISE=9999\nFREQUENCY=2412\n',
  'network id / ssid / bssid / flags\n0\tdepot\tany\t[CURRENT]\n1\tstreet-7\tany\t[DISABLED]\n',
  '<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]',
  '<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=3 locally_generated=1',
];

const WPA_PARSERS: Array<[string, (text: string) => unknown]> = [
  ['parseScanResults', parseScanResults], ['parseStatus', parseStatus], ['parseSignalPoll', parseSignalPoll],
  ['parseListNetworks', parseListNetworks], ['parseEvent', parseEvent], ['decodeSsid', decodeSsid],
];

test('fuzz: wpa_supplicant replies (wpa.parse)', (t) => {
  const f = oneOf(WPA_PARSERS, inputs(WPA_TOKENS, WPA_SAMPLES));
  fuzz(t, 'wpa.parse', f.arb, f.run, [WpaParseError], 400, f.label);
});

// --- balance texts ------------------------------------------------------------------------------------------------

const BAL_TOKENS = [...DIGITS, '1.000', '1 234', 'EUR', '€', '$', 'Fr.', 'Guthaben', 'balance', 'Saldo', ': ', 'Ihr ', ' MB', ' min',
  '31.12.', '%', 'zł', 'руб.', '\u00a0', "'", 'R$'];
const BAL_SAMPLES = ['Ihr Guthaben: 12,34 EUR. Gueltig bis 31.12.', 'Guthaben: 7,35 € - Tarif Prepaid', 'Your balance is $1,234.56. 500 MB left',
  'Saldo 1.234,00 EUR, 100 SMS', 'Stan konta: 25,50 zł', 'Ваш баланс 150.00 руб.', 'Restguthaben 3,00 EUR'];

test('fuzz: balance texts (balance.parse)', (t) => {
  fuzz(t, 'balance', inputs(BAL_TOKENS, BAL_SAMPLES), (text) => {
    parseBalance(text);
    balanceFromText(text, 'ussd', 0);
  }, [BalanceError], 400);
});

// --- durations ----------------------------------------------------------------------------------------------------

test('fuzz: durations (shared/duration)', (t) => {
  const arb = fc.oneof(
    inputs([...DIGITS, 'ms', 's', 'm', 'h', 'd', ' ', '.5', 'e9'], ['40s', '250ms', '1.5s', '2m', '1h', '36500d']),
    fc.double(),
    fc.integer(),
  );
  fuzz(t, 'duration', arb, (x) => {
    const ms = parseDuration(x);
    if (!Number.isSafeInteger(Math.round(ms)) || ms < 0) throw new Error(`parsed to ${ms}`);
  }, [InputError], 400);
});

// --- configs and scenarios ----------------------------------------------------------------------------------------

const AGENT_YAML = readFileSync(join(ROOT, 'test/fixtures/agent/agent.yaml'), 'utf8');
const HQ_YAML = readFileSync(join(ROOT, 'deploy/examples/hq.yaml'), 'utf8');
const SCENARIOS = ['depot-to-street.yaml', 'minimal-lte.yaml', 'secured-aps.yaml'].map((f) => readFileSync(join(ROOT, 'test/scenarios', f), 'utf8'));
const YAML_TOKENS = [...DIGITS, ': ', '- ', '  ', '[', ']', '{', '}', '&a ', '*a', '&b ', '*b', '!!str ', '!!binary ', '? ', '|', '>', '#', '---\n', '...\n',
  '<<: ', 'null', 'true', '0x5200', '40s', 'wlan0', '10.20.7.0/24', '-80'];

/** An alias bomb: `width` aliases per level, `depth` levels (width^depth values once expanded). */
const aliasBomb = fc.tuple(fc.integer({ min: 2, max: 10 }), fc.integer({ min: 2, max: 8 }), fc.constantFrom(...SCENARIOS, AGENT_YAML)).map(([width, depth, base]) => {
  const lines = [`l0: &l0 [${Array(width).fill('x').join(', ')}]`];
  for (let i = 1; i < depth; i++) lines.push(`l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]`);
  return `${base}\n${lines.join('\n')}\n`;
});

/** A plain value shaped like a config: a real one with fields replaced by anything JSON can hold. */
function objectMutations(base: unknown): fc.Arbitrary<unknown> {
  return fc.tuple(fc.array(fc.tuple(fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 3 })), { maxLength: 4 }), fc.boolean()).map(([edits, keepKnown]) => {
    const doc = structuredClone(base) as Record<string, unknown>;
    for (const [path, value] of edits) {
      let o: Record<string, unknown> = doc;
      const keys = keepKnown ? path.map((k, i) => Object.keys(o)[k.length % Math.max(1, Object.keys(o).length)] ?? `k${i}`) : path;
      for (const k of keys.slice(0, -1)) {
        if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
        o = o[k] as Record<string, unknown>;
      }
      o[keys.at(-1) ?? 'x'] = value;
    }
    return doc;
  });
}

const agentDoc = parseYaml(AGENT_YAML, 'agent.yaml');
const hqDoc = parseYaml(HQ_YAML, 'hq.yaml');

test('fuzz: configs (shared/config: agent, modem, connect list, HQ) as YAML text and as values', (t) => {
  const text = fc.oneof(soup(YAML_TOKENS), blowup(YAML_TOKENS, MAX_YAML_FUZZ), mutated([AGENT_YAML, HQ_YAML]), aliasBomb);
  fuzz(t, 'config text', text, (s) => {
    const doc = parseYaml(s, 'fuzz.yaml');
    for (const check of [() => parseAgentConfig(doc, 'fuzz.yaml'), () => checkHqConfig(doc, 'fuzz.yaml', '/etc/roamlink')]) {
      try {
        check();
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
      }
    }
  }, [InputError], 300);
  const values = fc.oneof(objectMutations(agentDoc), objectMutations(hqDoc), fc.jsonValue({ maxDepth: 4 }));
  fuzz(t, 'config values', values, (doc) => {
    const d = doc as Record<string, unknown> | null;
    for (const check of [
      () => parseAgentConfig(doc, 'v'), () => checkHqConfig(doc, 'v', '/etc/roamlink'),
      () => parseModemConfig(d?.modem ?? doc, 'v'), () => parseConnectList(d?.connect_list ?? doc, 'v'),
      () => parseAgentConfig(parseYaml(stringify(doc), 'v'), 'v'),
    ]) {
      try {
        check();
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
      }
    }
  }, [InputError], 300);
});

test('fuzz: scenarios (shared/scenario) as YAML text and as values', (t) => {
  const text = fc.oneof(soup(YAML_TOKENS), blowup(YAML_TOKENS, MAX_YAML_FUZZ), mutated(SCENARIOS), aliasBomb);
  fuzz(t, 'scenario text', text, (s) => parseScenario(parseYaml(s, 'fuzz.yaml'), 'fuzz.yaml'), [InputError], 300);
  const values = fc.oneof(...SCENARIOS.map((s) => objectMutations(parseYaml(s, 's'))));
  fuzz(t, 'scenario values', values, (doc) => parseScenario(doc, 'v'), [InputError], 300);
});

// --- drive files (branch drives' recorder format) ---------------------------------------------------------------------

test('fuzz: drive files (shared/wire/drive)', (t) => {
  const head = (f: string, n: number) => readFileSync(join(ROOT, 'test/fixtures/drive', f), 'utf8').split('\n').slice(0, n).join('\n') + '\n';
  const samples = [head('lab-flap.jsonl', 12), head('lab-blackhole.jsonl', 12), head('lab-flap.jsonl', 3) + head('lab-blackhole.jsonl', 6)];
  const tokens = ['{', '}', '"t":', '"e":"u"', '"e":"s"', '"e":"c"', ',', '\n', '"drive":"roamlink-drive"', '"version":1', '"version":99', 'null', '-1', '1e308', '"n":"wlan0"', '[', ']', '"'];
  fuzz(t, 'drive', fc.oneof(soup(tokens), blowup(tokens, MAX_YAML_FUZZ), mutated(samples)), (text) => parseDrive(text, 'fuzz'), [DriveError, InputError], 300);
});
