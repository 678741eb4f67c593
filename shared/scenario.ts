// The lab scenario file (design.md §2): its zod schema, loading from YAML, and signal traces over time.
import { readFile } from 'node:fs/promises';
import { parseYaml } from './yaml.js';
import { z } from 'zod';
import { connectListSchema, isValidPsk } from './config/connect-list.js';
import { parseDuration } from './duration.js';
import { InputError, parseOrThrow } from './errors.js';
import { linkSchema } from './link.js';

/*
 * The parsed scenario keeps the file's field names; every time value ("40s", "300ms", or a number of ms) comes
 * out as a number of milliseconds. So a parsed scenario is itself a valid scenario (parsing is idempotent).
 */

/** An error message for a value of the wrong type only, leaving the messages of other checks alone. */
function expected(msg: string) {
  return (iss: { code?: string }) => (iss.code === 'invalid_type' || iss.code === 'invalid_union' || iss.code === 'invalid_value' ? msg : undefined);
}

/** A time or duration: "12s", "300ms", "2m", or a plain number of milliseconds. Output: ms. */
export const timeMs = z.union([z.string(), z.number()], { error: expected('expected a time such as 12s, 300ms or a number of ms') }).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const BSSID_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
export const bssid = z
  .string({ error: expected('expected a BSSID such as 02:00:00:00:00:01') })
  .regex(BSSID_RE, { error: (iss) => `not a BSSID: "${String(iss.input)}" (use aa:bb:cc:dd:ee:ff)` })
  .transform((s) => s.toLowerCase());

/** An uplink as the agent names it: a Linux interface name (at most 15 characters). */
export const uplinkName = z
  .string({ error: expected('expected an uplink (interface) name such as wlan0') })
  .regex(/^[A-Za-z0-9_.-]{1,15}$/, { error: (iss) => `not an interface name: "${String(iss.input)}"` });

/** A point of a signal trace: [time, dBm]; dBm is checked against the radio's range. */
function signalPoint(minDbm: number) {
  return z.tuple([timeMs, z.number({ error: 'dBm must be a number' })], { error: expected('expected [time, dBm]') }).superRefine(([, dbm], ctx) => {
    if (dbm >= 0) ctx.addIssue({ code: 'custom', message: `dBm must be negative (got ${dbm})` });
    else if (dbm < minDbm) ctx.addIssue({ code: 'custom', message: `dBm must be at least ${minDbm} (got ${dbm})` });
  });
}

/** [[time ms, dBm], ...]: at least one point, times ascending (an equal time makes a step). */
export type SignalTrace = ReadonlyArray<readonly [number, number]>;

function signalTrace(minDbm: number) {
  return z
    .array(signalPoint(minDbm), { error: expected('expected a list of [time, dBm] points') })
    .min(1, { error: 'needs at least one [time, dBm] point' })
    .superRefine((pts, ctx) => {
      for (let i = 1; i < pts.length; i++) {
        if (pts[i]![0] < pts[i - 1]![0]) {
          ctx.addIssue({ code: 'custom', path: [i], message: `times must ascend: ${pts[i]![0]}ms comes after ${pts[i - 1]![0]}ms` });
        }
      }
    });
}

/** Wi-Fi signal as the vehicle's radio sees it. */
const wifiTrace = signalTrace(-120);
/** LTE RSRP, whose range reaches lower than Wi-Fi's. */
const lteTrace = signalTrace(-140);

const apSchema = z
  .strictObject({
    ssid: z
      .string({ error: expected('expected an SSID') })
      .min(1, { error: 'must not be empty' })
      .refine((s) => Buffer.byteLength(s, 'utf8') <= 32, { error: 'longer than 32 bytes' }),
    bssid: bssid.optional(),
    signal: wifiTrace,
    security: z.enum(['open', 'psk'], { error: expected('expected one of open, psk') }).optional(),
    // Never quoted in a message: it is a secret.
    psk: z
      .string({ error: expected('expected a passphrase') })
      .refine(isValidPsk, { error: (iss) => `not a valid psk (8 to 63 printable ASCII characters, or 64 hex digits; got ${String(iss.input).length} characters)` })
      .optional(),
    /** The AP's link (its uplink path as the vehicle sees it): absent, an ideal link (no emulator in the path). */
    link: linkSchema('wifi', timeMs).optional(),
  })
  .superRefine((ap, ctx) => {
    if (ap.security === 'psk' && ap.psk === undefined) ctx.addIssue({ code: 'custom', path: ['psk'], message: 'required when security is psk' });
    if (ap.security === 'open' && ap.psk !== undefined) ctx.addIssue({ code: 'custom', path: ['psk'], message: 'given, but security is open' });
  })
  // security defaults to psk when a passphrase is given, open otherwise.
  .transform((ap) => ({ ...ap, security: ap.security ?? (ap.psk !== undefined ? ('psk' as const) : ('open' as const)) }));

/**
 * Overrides merged over the agent's default config; kept as written (the merge and the full check are the lab's).
 * The connect list is checked now, by the agent's own schema, so a bad entry fails before the lab starts.
 */
const agentOverrides = z
  .record(z.string(), z.unknown(), { error: expected('expected a mapping merged over the agent config') })
  .superRefine((agent, ctx) => {
    if (agent.connect_list === undefined) return;
    const r = connectListSchema.safeParse(agent.connect_list);
    if (!r.success) for (const iss of r.error.issues) ctx.addIssue({ code: 'custom', path: ['connect_list', ...iss.path], message: iss.message });
  });

const uplinkSelector = z.union([z.literal('active'), z.literal('all'), uplinkName], { error: expected('expected an uplink name, active or all') });

export const FAULT_KINDS = ['blackhole', 'carrier-loss', 'restart', 'switch', 'power-off'] as const;
/** The HQ machines of a scenario with `hq.replicas: 2`. */
export const HQ_MACHINES = ['hq-a', 'hq-b'] as const;
/** How a restart fault stops the daemon: SIGTERM and a grace period, or SIGKILL at once. */
export const RESTART_MODES = ['graceful', 'kill'] as const;

const faultSchema = z.discriminatedUnion(
  'kind',
  [
    /** Drop silently, both directions, for a while. */
    z.strictObject({ kind: z.literal('blackhole'), at: timeMs, uplink: uplinkSelector, for: timeMs }),
    /** The carrier goes; back after `for`, or never. */
    z.strictObject({ kind: z.literal('carrier-loss'), at: timeMs, uplink: uplinkSelector, for: timeMs.optional() }),
    /** A daemon restarts: `graceful` is SIGTERM (systemctl restart), `kill` is SIGKILL with no cleanup (a crash). */
    z.strictObject({
      kind: z.literal('restart'),
      at: timeMs,
      target: z.enum(['concentrator', 'agent'], { error: expected('expected one of concentrator, agent') }),
      mode: z.enum(RESTART_MODES, { error: expected(`expected one of ${RESTART_MODES.join(', ')}`) }).default('graceful'),
      /** An upgrade: the new process runs from another build directory (the lab copies this build there), not the old one's. */
      upgrade: z.boolean({ error: expected('expected true or false') }).optional(),
    }),
    /** An operator-forced switch. */
    z.strictObject({ kind: z.literal('switch'), at: timeMs, to: uplinkName }),
    /** An HQ machine loses power (every process in it killed, its links down, what it held in memory gone) and is back
     *  after `for` (its daemons start again). Needs `hq.replicas: 2`. */
    z.strictObject({
      kind: z.literal('power-off'),
      at: timeMs,
      target: z.enum(HQ_MACHINES, { error: expected(`expected one of ${HQ_MACHINES.join(', ')}`) }),
      for: timeMs,
    }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? `expected one of ${FAULT_KINDS.join(', ')}` : undefined) },
);

const count = z.number({ error: expected('expected a number') }).int({ error: expected('expected a whole number') }).nonnegative({ error: 'must not be negative' });

/** Known limits; more may be added, as numbers (each needs a rule in report.ts's EXPECT_RULES, or it fails the run). */
const expectSchema = z
  .object({
    lost_max: count.optional(),
    max_gap_ms: z.number({ error: expected('expected a number of ms') }).nonnegative({ error: 'must not be negative' }).optional(),
    switches_min: count.optional(),
    switches_max: count.optional(),
  })
  .catchall(z.number({ error: expected('expected a number') }))
  .superRefine((e, ctx) => {
    if (e.switches_min !== undefined && e.switches_max !== undefined && e.switches_min > e.switches_max) {
      ctx.addIssue({ code: 'custom', path: ['switches_max'], message: `less than switches_min (${e.switches_min})` });
    }
  });

export const scenarioSchema = z
  .strictObject({
    name: z.string({ error: expected('expected a name') }).min(1, { error: 'must not be empty' }),
    duration: timeMs.refine((ms) => ms > 0, { error: 'must be more than 0' }),
    traffic: z.strictObject(
      {
        pps: z.number({ error: expected('expected packets per second') }).int({ error: expected('expected a whole number') }).min(1, { error: 'at least 1' }).max(10_000, { error: 'at most 10000' }),
        direction: z.enum(['both', 'up', 'down'], { error: expected('expected one of both, up, down') }).default('both'),
      },
      { error: expected('expected { pps, direction }') },
    ),
    aps: z.array(apSchema, { error: expected('expected a list of access points') }).default([]),
    lte: z.strictObject({ signal: lteTrace, link: linkSchema('lte', timeMs).optional() }, { error: expected('expected { signal: [[time, dBm], ...], link? }') }).optional(),
    agent: agentOverrides.default({}),
    /** HQ: one machine on SQLite (the default), or two concentrators sharing one PostgreSQL, HQ's WireGuard identity
     *  and, by VRRP (keepalived), HQ's LAN gateway (issue 14). */
    hq: z.strictObject({
      replicas: z.union([z.literal(1), z.literal(2)], { error: expected('expected 1 or 2') }).default(1),
      store: z.enum(['sqlite', 'postgres'], { error: expected('expected sqlite or postgres') }).default('sqlite'),
    }, { error: expected('expected { replicas, store }') }).optional(),
    faults: z.array(faultSchema, { error: expected('expected a list of faults') }).default([]),
    expect: expectSchema.default({}),
  }, { error: expected('expected a mapping of scenario fields (name, duration, traffic, aps, ...)') })
  .superRefine((s, ctx) => {
    if (s.aps.length === 0 && !s.lte) ctx.addIssue({ code: 'custom', path: ['aps'], message: 'the scenario has no uplink: give aps, lte or both' });
    const seen = new Map<string, number>();
    s.aps.forEach((ap, i) => {
      if (ap.bssid !== undefined) {
        const j = seen.get(ap.bssid);
        if (j !== undefined) ctx.addIssue({ code: 'custom', path: ['aps', i, 'bssid'], message: `${ap.bssid} is also aps[${j}]'s` });
        seen.set(ap.bssid, i);
      } else if (s.aps.some((o, k) => k !== i && o.ssid === ap.ssid)) {
        ctx.addIssue({ code: 'custom', path: ['aps', i, 'bssid'], message: `required: another AP has the ssid "${ap.ssid}"` });
      }
    });
    const late = (link: ReadonlyArray<readonly [number, unknown]> | undefined, path: PropertyKey[]) =>
      link?.forEach(([t], k) => {
        if (t >= s.duration) ctx.addIssue({ code: 'custom', path: [...path, k, 0], message: `${t}ms is not within the duration (${s.duration}ms)` });
      });
    s.aps.forEach((ap, i) => late(ap.link, ['aps', i, 'link']));
    late(s.lte?.link, ['lte', 'link']);
    if (s.hq?.replicas === 2 && s.hq.store !== 'postgres') ctx.addIssue({ code: 'custom', path: ['hq', 'store'], message: 'two HQs share one store: postgres' });
    s.faults.forEach((f, i) => {
      if (f.kind === 'power-off' && s.hq?.replicas !== 2) ctx.addIssue({ code: 'custom', path: ['faults', i, 'target'], message: 'a power-off needs hq: { replicas: 2 }' });
      if (f.kind === 'restart' && f.target === 'concentrator' && s.hq?.replicas === 2) ctx.addIssue({ code: 'custom', path: ['faults', i, 'target'], message: 'with two HQs, power off hq-a or hq-b' });
      if (f.at >= s.duration) {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'at'], message: `${f.at}ms is not within the duration (${s.duration}ms)` });
      } else if ('for' in f && f.for !== undefined && f.at + f.for > s.duration) {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'for'], message: `ends at ${f.at + f.for}ms, past the duration (${s.duration}ms)` });
      }
    });
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioAp = Scenario['aps'][number];
export type Fault = Scenario['faults'][number];
export type Expect = Scenario['expect'];

/** Validates a scenario already read (e.g. the demo's built-in one); `what` names it in errors. */
export function parseScenario(value: unknown, what: string): Scenario {
  return parseOrThrow(scenarioSchema, value, what);
}

/** Reads and validates a scenario file. Throws InputError naming the file and the field (or the YAML line). */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new InputError(`${path}: cannot read the scenario: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseScenario(parseYaml(text, path), path);
}

export { parseYaml } from './yaml.js';

/** The signal at tMs: linear between points, held at the first and last values outside them. */
export function signalAt(trace: SignalTrace, tMs: number): number {
  if (trace.length === 0) throw new Error('signalAt: empty trace');
  let i = -1; // the last point at or before tMs
  while (i + 1 < trace.length && trace[i + 1]![0] <= tMs) i++;
  if (i < 0) return trace[0]![1];
  if (i === trace.length - 1) return trace[i]![1];
  const [t0, v0] = trace[i]!;
  const [t1, v1] = trace[i + 1]!; // t1 > tMs >= t0, so t1 > t0
  return v0 + ((v1 - v0) * (tMs - t0)) / (t1 - t0);
}
