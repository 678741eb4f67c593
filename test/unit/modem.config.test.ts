// The modem/SMS/balance config schema: defaults, durations, and errors that name the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModemConfig } from '../../shared/config/modem.js';
import { InputError } from '../../shared/errors.js';

test('a minimal config gets its defaults', () => {
  const c = parseModemConfig({ device: '/dev/ttyUSB2', apn: 'internet' });
  assert.equal(c.min_pin_retries, 2);
  assert.deepEqual(c.mode, { preference: 'auto', ps_only: false });
  assert.equal(c.sms, undefined);
});

test('a full config: durations to ms', () => {
  const c = parseModemConfig({
    device: '/dev/serial/by-id/usb-HUAWEI_Mobile-if02', pin_file: '/etc/roamlink/sim.pin', apn: 'web.vodafone.de',
    mode: { preference: 'lte', ps_only: true },
    sms: { alert_numbers: ['+491701234567'], command_numbers: ['+491701234567'], secret_file: '/etc/roamlink/sms.secret', alerts: { wifi_lost_after: '90s', tunnel_down_after: '3m' } },
    balance: { method: 'sms', short_code: '1266', schedule: '12h', low_threshold: 5 },
  });
  assert.equal(c.sms!.alerts.wifi_lost_after, 90_000);
  assert.equal(c.sms!.alerts.tunnel_down_after, 180_000);
  assert.equal(c.sms!.alerts.min_interval, 600_000);
  assert.equal(c.balance!.schedule, 43_200_000);
  assert.equal(c.balance!.text, 'SALDO');
});

test('errors name the field', () => {
  const table: Array<[unknown, RegExp]> = [
    [{ apn: 'internet' }, /device/],
    [{ device: '/dev/x', apn: 'a"b' }, /apn: may not hold quotes/],
    [{ device: '/dev/x', apn: 'a', mode: { preference: '4g' } }, /mode\.preference/],
    [{ device: '/dev/x', apn: 'a', sms: { alert_numbers: ['+49 170 123'] } }, /sms\.alert_numbers\[0\]: must be a phone number/],
    [{ device: '/dev/x', apn: 'a', sms: { command_numbers: ['+491701234567'] } }, /sms\.secret_file: required when command_numbers are set/],
    [{ device: '/dev/x', apn: 'a', sms: { alerts: { wifi_lost_after: 'soon' } } }, /sms\.alerts\.wifi_lost_after: not a duration/],
    [{ device: '/dev/x', apn: 'a', balance: { method: 'ussd' } }, /balance\.code: required when method is ussd/],
    [{ device: '/dev/x', apn: 'a', balance: { method: 'sms' } }, /balance\.short_code: required/],
    [{ device: '/dev/x', apn: 'a', balance: { method: 'ussd', code: '100' } }, /balance\.code: must be a USSD code/],
    [{ device: '/dev/x', apn: 'a', pin: '1234' }, /Unrecognized key.*pin/],
  ];
  for (const [given, want] of table) {
    assert.throws(() => parseModemConfig(given), (e: unknown) => e instanceof InputError && want.test(e.message), String(want));
  }
});
