// Prepaid balance: reply texts of several carriers, the check schedule, USSD and SMS requests against a fake driver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLowBalance, parseAmount, parseBalance, type Balance } from '../../agent/balance/balance.parse.js';
import { balanceDue, balanceFinished, balanceStarted, initialBalanceCheck } from '../../agent/balance/balance.schedule.js';
import { BalanceError, balanceFromText, checkBalanceUssd, requestBalanceSms } from '../../agent/balance/balance.check.js';

test('parseBalance on carrier replies', () => {
  const table: Array<{ name: string; given: string; want: Balance | undefined }> = [
    { name: 'de ussd', given: 'Ihr Guthaben: 12,34 EUR. Gueltig bis 31.12.', want: { amount: 12.34, currency: 'EUR' } },
    { name: 'de sms', given: 'Ihr aktuelles Guthaben betraegt 4,56 EUR.', want: { amount: 4.56, currency: 'EUR' } },
    { name: 'euro sign after', given: 'Guthaben 0,00 €', want: { amount: 0, currency: 'EUR' } },
    { name: 'fr', given: 'Votre solde est de 8,75€ valable jusqu\'au 01/03/2027', want: { amount: 8.75, currency: 'EUR' } },
    { name: 'en dollar', given: 'Your balance is $5.20. Valid until 2027-01-31.', want: { amount: 5.2, currency: 'USD' } },
    { name: 'uk thousands', given: 'Balance: £1,234.56 remaining', want: { amount: 1234.56, currency: 'GBP' } },
    { name: 'es', given: 'Su saldo es 10,50 EUR. Bono 2 GB.', want: { amount: 10.5, currency: 'EUR' } },
    { name: 'it', given: 'Credito residuo: 3,50 euro', want: { amount: 3.5, currency: 'EUR' } },
    { name: 'negative', given: 'Main balance: -2.30 EUR', want: { amount: -2.3, currency: 'EUR' } },
    { name: 'de thousands', given: 'Kontostand 1.234,50 EUR', want: { amount: 1234.5, currency: 'EUR' } },
    { name: 'bonus first, balance keyword later', given: 'Bonus 1,00 EUR. Ihr Guthaben: 7,89 EUR', want: { amount: 7.89, currency: 'EUR' } },
    { name: 'no currency', given: 'Saldo 7,50', want: { amount: 7.5 } },
    { name: 'no currency, skip date and data', given: 'Saldo am 31.12.2026: 500 MB und 15,20', want: { amount: 15.2 } },
    { name: 'pln', given: 'Stan konta: 23,45 zł', want: { amount: 23.45, currency: 'PLN' } },
    { name: 'data only', given: 'You have 2.5 GB remaining', want: undefined },
    { name: 'nothing', given: 'Service not available', want: undefined },
  ];
  for (const c of table) assert.deepEqual(parseBalance(c.given), c.want, c.name);
});

test('parseAmount', () => {
  const table: Array<[string, number]> = [['12,34', 12.34], ['12.34', 12.34], ['1.234', 1234], ['1,234.5', 1234.5], ['1 234,00', 1234], ['-3', -3], ['7', 7]];
  for (const [s, n] of table) assert.equal(parseAmount(s), n, s);
});

test('low balance threshold', () => {
  assert.equal(isLowBalance({ amount: 4.99 }, 5), true);
  assert.equal(isLowBalance({ amount: 5 }, 5), false);
  assert.equal(isLowBalance(undefined, 5), false);
  assert.equal(isLowBalance({ amount: 1 }, undefined), false);
});

test('schedule: first check at once, then every interval; failures retry sooner, doubling; on demand at once', () => {
  const p = { intervalMs: 86_400_000, retryMs: 300_000 };
  let s = initialBalanceCheck;
  assert.equal(balanceDue(s, p, 0).due, true);
  s = balanceStarted(s, 0);
  assert.equal(balanceDue(s, p, 0).due, false, 'in flight');
  s = balanceFinished(s, true, 10);
  assert.deepEqual([balanceDue(s, p, 86_399_999).due, balanceDue(s, p, 86_400_000).due], [false, true]);
  s = balanceFinished(balanceStarted(s, 86_400_000), false, 86_400_100);
  assert.equal(balanceDue(s, p, 86_400_000 + 300_000).due, true);
  s = balanceFinished(balanceStarted(s, 86_700_000), false, 86_700_001);
  assert.equal(balanceDue(s, p, 86_700_000 + 599_999).due, false);
  assert.equal(balanceDue(s, p, 86_700_000 + 600_000).due, true);
  s = { ...s, requested: true };
  assert.deepEqual(balanceDue(s, p, 86_700_001), { due: true, at: 86_700_001, reason: 'requested' });
});

test('USSD check: status 0 parsed, refusals and unreadable replies are errors', async () => {
  const replies = [
    { status: 0, text: 'Ihr Guthaben: 12,34 EUR.' },
    { status: 4 },
    { status: 0, text: 'Dienst nicht verfuegbar' },
  ];
  const codes: string[] = [];
  const driver = { ussd: async (code: string) => { codes.push(code); return replies.shift()!; } };
  const sig = new AbortController().signal;
  assert.deepEqual(await checkBalanceUssd(driver, '*100#', sig, () => 42), { amount: 12.34, currency: 'EUR', text: 'Ihr Guthaben: 12,34 EUR.', method: 'ussd', at: 42 });
  await assert.rejects(checkBalanceUssd(driver, '*100#', sig, () => 43), BalanceError);
  await assert.rejects(checkBalanceUssd(driver, '*100#', sig, () => 44), /no balance in the reply/);
  assert.deepEqual(codes, ['*100#', '*100#', '*100#']);
});

test('SMS check: the request goes to the short code; the reply is read by balanceFromText', async () => {
  const sent: Array<[string, string]> = [];
  await requestBalanceSms({ smsSend: async (to, text) => { sent.push([to, text]); return [1]; } }, '1266', 'SALDO', new AbortController().signal);
  assert.deepEqual(sent, [['1266', 'SALDO']]);
  assert.equal(balanceFromText('Ihr aktuelles Guthaben betraegt 4,56 EUR.', 'sms', 7).amount, 4.56);
});
