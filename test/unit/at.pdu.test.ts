// The SMS PDU codec: known vectors, multi-part GSM 7-bit and UCS2, escapes and surrogate pairs kept whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as pdu from '../../agent/drivers/modem/sms.pdu.js';

test('the GSM alphabet has 128 entries; escapes round-trip', () => {
  assert.equal(pdu.GSM7_BASIC.length, 128);
  const s = 'a€[]{}~^|\\b';
  assert.equal(pdu.fromSeptets(pdu.toSeptets(s)!), s);
  assert.equal(pdu.toSeptets('日本'), null);
});

test('SMS-SUBMIT known vector ("hellohello" to +46708251358)', () => {
  assert.deepEqual(pdu.encodeSubmit('+46708251358', 'hellohello'), [
    { pdu: '0011000B916407281553F80000A70AE8329BFD4697D9EC37', length: 23 },
  ]);
  assert.equal(pdu.encodeSubmit('1266', 'SALDO')[0]!.pdu.slice(0, 16), '0011000481216600');
});

test('long GSM 7-bit text: 153-septet parts with a header, an escape never cut in two', () => {
  const text = 'x'.repeat(152) + '€' + 'y'.repeat(100);
  const parts = pdu.encodeSubmit('+491701234567', text, 0x2a);
  assert.equal(parts.length, 2);
  const d = parts.map((p) => pdu.decodePdu(p.pdu));
  assert.deepEqual(d.map((x) => x.concat), [{ ref: 0x2a, total: 2, seq: 1 }, { ref: 0x2a, total: 2, seq: 2 }]);
  assert.equal(d[0]!.text, 'x'.repeat(152));
  assert.equal(d.map((x) => x.text).join(''), text);
  for (const p of parts) assert.equal(p.pdu.length / 2 - 1, p.length);
});

test('long UCS2 text: 67-unit parts, surrogate pairs kept whole', () => {
  const text = 'Привет '.repeat(9) + '🚑' + 'ü'.repeat(40);
  const parts = pdu.encodeSubmit('+491701234567', text, 7);
  assert.equal(parts.length, 2);
  const d = parts.map((p) => pdu.decodePdu(p.pdu));
  assert.ok(d.every((x) => x.alphabet === 'ucs2'));
  assert.equal(d.map((x) => x.text).join(''), text);
  assert.ok(!/[\ud800-\udbff]$/.test(d[0]!.text), 'part 1 does not end in a lead surrogate');
});

test('short texts are one part without a header', () => {
  const [p] = pdu.encodeSubmit('+491701234567', 'Grüße 🚓');
  const d = pdu.decodePdu(p!.pdu);
  assert.equal(d.text, 'Grüße 🚓');
  assert.equal(d.concat, undefined);
  assert.equal(pdu.encodeSubmit('+1', 'x'.repeat(160)).length, 1);
  assert.equal(pdu.encodeSubmit('+1', 'x'.repeat(161)).length, 2);
  assert.equal(pdu.encodeSubmit('+1', 'ж'.repeat(70)).length, 1);
  assert.equal(pdu.encodeSubmit('+1', 'ж'.repeat(71)).length, 2);
});

test('alphanumeric sender and 16-bit concatenation reference', () => {
  // SMS-DELIVER from "Vodafone" (TOA D0), UDH IE 08 (16-bit ref 0x1234, 3 parts, #2), UCS2 "ok".
  const hex = '00' + '44' + '0ED0D637396C7EBBCB' + '00' + '08' + '42111221030040' + '0B' + '06080412340302' + '006F006B';
  const d = pdu.decodePdu(hex);
  assert.equal(d.address, 'Vodafone');
  assert.deepEqual(d.concat, { ref: 0x1234, total: 3, seq: 2 });
  assert.equal(d.text, 'ok');
  // "Telekom": 7 characters in 13 semi-octets, no trailing '@'.
  const t = pdu.decodePdu('00' + '04' + '0DD0D432BBBC7EB701' + '0000' + '42111221030040' + '02EF35');
  assert.equal(t.address, 'Telekom');
  assert.equal(t.text, 'ok');
});

test('data coding schemes', () => {
  assert.equal(pdu.smsAlphabet(0x00), 'gsm7');
  assert.equal(pdu.smsAlphabet(0x08), 'ucs2');
  assert.equal(pdu.smsAlphabet(0x04), '8bit');
  assert.equal(pdu.smsAlphabet(0xf4), '8bit');
  assert.equal(pdu.smsAlphabet(0x18), 'ucs2');
  assert.equal(pdu.cbsAlphabet(0x0f), 'gsm7');
  assert.equal(pdu.cbsAlphabet(0x48), 'ucs2');
  assert.equal(pdu.cbsAlphabet(0x11), 'ucs2');
  assert.throws(() => pdu.decodePdu('xyz'), pdu.PduError);
  assert.throws(() => pdu.encodeSubmit('not-a-number', 'x'), pdu.PduError);
});
