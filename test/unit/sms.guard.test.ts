// SMS commands' guard across agent restarts: a lockout stays until its end, a spent code stays spent, an unreadable
// guard file locks out (fail closed); without the store (the old behaviour) a restart forgot both, which the control
// case shows. Modem services against a fake inbox on a simulated wall clock; the state file in a temporary state_dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModemServices } from '../../agent/modem.services.js';
import { fileSmsGuardStore, smsGuardPath, type SmsGuardStore } from '../../agent/sms/guard.store.js';
import { otpKey, totp } from '../../agent/sms/otp.js';
import type { SmsCommandHandlers } from '../../agent/sms/sms.handlers.js';
import type { ModemDriver, SmsMessage } from '../../agent/drivers/modem/modem.driver.js';
import { parseModemConfig } from '../../shared/config/modem.js';
import { createLogger } from '../../shared/log.js';

const SECRET = 'Zebra-42-Lamp-Guard';
const FROM = '+491701234567';
const T0 = Date.UTC(2026, 11, 3, 8, 0, 1);

function rig(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'rl-smsguard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'sms.secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  const modem = parseModemConfig({ device: '/dev/null', apn: 'a', sms: { command_numbers: [FROM], secret_file: secretFile, lockout_after: 3, lockout_for: '10m' } });
  let clock = T0;
  const calls: string[] = [];
  const warnings: string[] = [];
  const handlers: SmsCommandHandlers = {
    status: async () => (calls.push('status'), { vehicle: 'car-1', uplinks: [], tunnel: { up: true } }),
    switchUplink: async () => ({ ok: true, message: 'ok' }),
    callHome: async () => ({ ok: true, message: 'ok' }),
    reload: async () => ({ ok: true, message: 'ok' }),
  };
  let id = 0;
  /** One agent process: its own services (memory), the store on the shared state_dir unless `store: null`. */
  const agent = (store: SmsGuardStore | null = fileSmsGuardStore(smsGuardPath(dir), (m) => warnings.push(m))) => {
    const log = createLogger({ name: 'sms', level: 'silent' });
    const services = createModemServices({ vehicle: 'car-1', modem, log, now: () => clock, handlers, facts: () => ({ wifiUp: true, tunnelUp: true }), ...(store ? { guard: store } : {}) });
    return {
      /** Delivers one SMS and runs a pass: was the command run? */
      async sms(text: string): Promise<boolean> {
        const before = calls.length;
        const inbox: SmsMessage[] = [{ ids: [id++], from: FROM, text, complete: true, parts: 1, status: 'unread' }];
        const driver = {
          smsList: async () => inbox.splice(0),
          smsDelete: async () => {},
          smsSend: async () => [1],
        } as unknown as ModemDriver;
        await services.pass(driver, new AbortController().signal);
        return calls.length > before;
      },
    };
  };
  const code = (at = clock) => totp(otpKey(SECRET), at);
  return { dir, agent, code, warnings, advance: (ms: number) => void (clock += ms), file: smsGuardPath(dir) };
}

test('a lockout survives a restart until it ends; then a good code runs', async (t) => {
  const r = rig(t);
  const a = r.agent();
  for (let i = 0; i < 3; i++) assert.equal(await a.sms(`00000${i} STATUS`), false);
  assert.equal(await a.sms(`${r.code()} STATUS`), false, 'locked out after 3 bad codes');
  assert.equal(statSync(r.file).mode & 0o777, 0o600);
  const b = r.agent(); // the restart
  r.advance(60_000);
  assert.equal(await b.sms(`${r.code()} STATUS`), false, 'still locked out after the restart');
  r.advance(10 * 60_000);
  assert.equal(await b.sms(`${r.code()} STATUS`), true, 'open again once the lockout ends');
});

test('a spent code stays spent across a restart (no replay); the control without the store replays it', async (t) => {
  const r = rig(t);
  const c = r.code();
  assert.equal(await r.agent().sms(`${c} STATUS`), true);
  assert.equal(await r.agent().sms(`${c} STATUS`), false, 'the replay after a restart is refused');
  assert.deepEqual(JSON.parse(readFileSync(r.file, 'utf8')).otp.failures, [], 'a replay is not a bad code');
  // Control: the same sequence with no store, as before this change: the second process runs the replayed code.
  const r2 = rig(t);
  const c2 = r2.code();
  assert.equal(await r2.agent(null).sms(`${c2} STATUS`), true);
  assert.equal(await r2.agent(null).sms(`${c2} STATUS`), true, 'without the store a restart forgets the spent code');
});

test('an unreadable guard file locks commands out (fail closed) and says so; the next good pass rewrites it', async (t) => {
  const r = rig(t);
  writeFileSync(r.file, '{"version":1,"otp":', { mode: 0o600 });
  const a = r.agent();
  assert.equal(await a.sms(`${r.code()} STATUS`), false);
  assert.match(r.warnings.join('\n'), /not a valid SMS guard file: SMS commands locked out/);
  r.advance(10 * 60_000 + 1000);
  assert.equal(await a.sms(`${r.code()} STATUS`), true);
  assert.equal(JSON.parse(readFileSync(r.file, 'utf8')).version, 1);
});
