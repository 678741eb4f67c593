// The AT reply parsers as tables over captured-looking modem output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../agent/drivers/modem/at.parse.js';

test('splitFields keeps commas inside quotes', () => {
  assert.deepEqual(p.splitFields('0,0,"Vodafone, DE",7'), ['0', '0', 'Vodafone, DE', '7']);
  assert.deepEqual(p.splitFields('1,,,"IPV4"'), ['1', '', '', 'IPV4']);
});

test('identity lines, IMEI, IMSI, masking', () => {
  assert.equal(p.parseIdentityLine(['huawei']), 'huawei');
  assert.equal(p.parseIdentityLine(['+CGMI: "Quectel"'], '+CGMI'), 'Quectel');
  assert.equal(p.parseIdentityLine(['Revision: EC25EFAR06A06M4G'], '+CGMR'), 'EC25EFAR06A06M4G');
  assert.equal(p.parseIdentityLine(['^HCSQ: "LTE",1,2,3,4', 'E3372'], '+CGMM'), 'E3372');
  assert.equal(p.parseImei(['866123045678901']), '866123045678901');
  assert.equal(p.parseImei(['+CGSN: "861234567890123"']), '861234567890123');
  assert.equal(p.parseImsi(['262021234567890']), '262021234567890');
  assert.equal(p.maskId('866123045678901'), '***********8901');
  assert.equal(p.maskId('123'), '***');
});

test('SIM state and PIN counters', () => {
  const table: Array<[string, p.SimState]> = [
    ['+CPIN: READY', 'ready'], ['+CPIN: SIM PIN', 'pin'], ['+CPIN: SIM PUK', 'puk'], ['+CPIN: SIM PIN2', 'pin2'],
    ['+CPIN: PH-SIM PIN', 'ph-sim-pin'], ['+CPIN: NOT INSERTED', 'absent'], ['+CPIN: WHATEVER', 'unknown'],
  ];
  for (const [line, want] of table) assert.equal(p.parseCpin([line]), want, line);
  assert.equal(p.simStateFromCme(10), 'absent');
  assert.equal(p.simStateFromCme(14), 'busy');
  assert.deepEqual(p.parseHuaweiCpin(['^CPIN: SIM PIN,3,10,3,10,3']), { puk: 10, pin: 3 });
  assert.deepEqual(p.parseHuaweiCpin(['^CPIN: READY,,10,3,10,3']), { puk: 10, pin: 3 });
  assert.deepEqual(p.parseQuectelPinc(['+QPINC: "SC",2,10', '+QPINC: "P2",3,10']), { pin: 2, puk: 10 });
});

test('signal: CSQ to dBm', () => {
  const table: Array<[string, p.ModemSignal | undefined]> = [
    ['+CSQ: 0,99', { rat: 'unknown', rssiDbm: -113, csq: 0 }],
    ['+CSQ: 20,99', { rat: 'unknown', rssiDbm: -73, csq: 20 }],
    ['+CSQ: 31,0', { rat: 'unknown', rssiDbm: -51, csq: 31 }],
    ['+CSQ: 99,99', { rat: 'unknown' }],
    ['garbage', undefined],
  ];
  for (const [line, want] of table) assert.deepEqual(p.parseCsq([line]), want, line);
});

test('signal: CESQ, ^HCSQ, +QCSQ', () => {
  const table: Array<{ name: string; got: p.ModemSignal | undefined; want: p.ModemSignal | undefined }> = [
    { name: 'CESQ LTE', got: p.parseCesq(['+CESQ: 99,99,255,255,20,46']), want: { rat: 'lte', rsrpDbm: -95, rsrqDb: -10 } },
    { name: 'CESQ UMTS', got: p.parseCesq(['+CESQ: 99,99,40,30,255,255']), want: { rat: 'umts', rscpDbm: -81, ecioDb: -9.5 } },
    { name: 'CESQ GSM', got: p.parseCesq(['+CESQ: 40,0,255,255,255,255']), want: { rat: 'gsm', rssiDbm: -71 } },
    { name: 'CESQ none', got: p.parseCesq(['+CESQ: 99,99,255,255,255,255']), want: { rat: 'none' } },
    { name: 'HCSQ LTE', got: p.parseHcsq('^HCSQ: "LTE",52,46,151,22'), want: { rat: 'lte', rssiDbm: -69, rsrpDbm: -95, sinrDb: 10, rsrqDb: -9 } },
    { name: 'HCSQ LTE unknown sinr', got: p.parseHcsq(['^HCSQ: "LTE",52,46,255,22']), want: { rat: 'lte', rssiDbm: -69, rsrpDbm: -95, rsrqDb: -9 } },
    { name: 'HCSQ WCDMA', got: p.parseHcsq('^HCSQ: "WCDMA",30,30,58'), want: { rat: 'umts', rssiDbm: -91, rscpDbm: -91, ecioDb: -3.5 } },
    { name: 'HCSQ GSM', got: p.parseHcsq('^HCSQ: "GSM",40'), want: { rat: 'gsm', rssiDbm: -81 } },
    { name: 'HCSQ no service', got: p.parseHcsq('^HCSQ: "NOSERVICE"'), want: { rat: 'none' } },
    { name: 'QCSQ LTE', got: p.parseQcsq(['+QCSQ: "LTE",-52,-81,195,-10']), want: { rat: 'lte', rssiDbm: -52, rsrpDbm: -81, sinrDb: 19, rsrqDb: -10 } },
    { name: 'QCSQ none', got: p.parseQcsq(['+QCSQ: "NOSERVICE"']), want: { rat: 'none' } },
    { name: '^RSSI URC', got: p.parseRssiUrc('^RSSI: 17'), want: { rat: 'unknown', rssiDbm: -79, csq: 17 } },
    { name: '+QIND csq URC', got: p.parseRssiUrc('+QIND: "csq",23,99'), want: { rat: 'unknown', rssiDbm: -67, csq: 23 } },
  ];
  for (const c of table) assert.deepEqual(c.got, c.want, c.name);
});

test('registration: both forms of CREG, CGREG, CEREG', () => {
  const table: Array<[string, p.Registration | undefined]> = [
    ['+CREG: 0,1', { domain: 'cs', state: 'home' }],
    ['+CREG: 2,5,"1A2B","01C3D4E5",2', { domain: 'cs', state: 'roaming', area: '1A2B', cellId: '01C3D4E5', act: 2, rat: 'umts' }],
    ['+CREG: 1', { domain: 'cs', state: 'home' }],
    ['+CREG: 1,"1a2b","01c3d4e5",7', { domain: 'cs', state: 'home', area: '1A2B', cellId: '01C3D4E5', act: 7, rat: 'lte' }],
    ['+CGREG: 2,2', { domain: 'gprs', state: 'searching' }],
    ['+CGREG: 3', { domain: 'gprs', state: 'denied' }],
    ['+CEREG: 2,1,"00FF","0A0B0C0D",7', { domain: 'eps', state: 'home', area: '00FF', cellId: '0A0B0C0D', act: 7, rat: 'lte' }],
    ['+CEREG: 0,4', { domain: 'eps', state: 'unknown' }],
    ['+CEREG: 5,"00FF","0A0B0C0D",7', { domain: 'eps', state: 'roaming', area: '00FF', cellId: '0A0B0C0D', act: 7, rat: 'lte' }],
    ['+COPS: 0', undefined],
  ];
  for (const [line, want] of table) assert.deepEqual(p.parseRegistrationLine(line), want, line);
  assert.deepEqual(p.parseRegistration(['+CGREG: 0,1', '+CEREG: 0,1'], 'eps'), { domain: 'eps', state: 'home' });
  assert.equal(p.isRegistered('roaming'), true);
  assert.equal(p.isRegistered('searching'), false);
});

test('operator', () => {
  const table: Array<[string, p.Operator | undefined]> = [
    ['+COPS: 0,0,"Vodafone.de",7', { mode: 0, name: 'Vodafone.de', act: 7, rat: 'lte' }],
    ['+COPS: 0,2,"26202",2', { mode: 0, numeric: '26202', act: 2, rat: 'umts' }],
    ['+COPS: 0', { mode: 0 }],
    ['+COPS: 1,0,"Telekom.de"', { mode: 1, name: 'Telekom.de' }],
    ['OK', undefined],
  ];
  for (const [line, want] of table) assert.deepEqual(p.parseCops([line]), want, line);
});

test('addresses: CGPADDR (IPv4 and dotted IPv6), ^DHCP hex little-endian', () => {
  assert.deepEqual(p.parseCgpaddr(['+CGPADDR: 1,"10.64.12.7"', '+CGPADDR: 2,"0.0.0.0"']), [{ cid: 1, ipv4: '10.64.12.7' }, { cid: 2 }]);
  assert.deepEqual(p.parseCgpaddr(['+CGPADDR: 1,10.1.2.3']), [{ cid: 1, ipv4: '10.1.2.3' }]);
  assert.deepEqual(
    p.parseCgpaddr(['+CGPADDR: 1,"100.72.9.1","32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1"']),
    [{ cid: 1, ipv4: '100.72.9.1', ipv6: '2001:db8::1' }],
  );
  assert.equal(p.hexLeToIp('4a6f1b0a'), '10.27.111.74');
  assert.equal(p.hexLeToIp('f8ffffff'), '255.255.255.248');
  assert.equal(p.hexLeToIp('zz'), undefined);
  assert.deepEqual(p.parseHuaweiDhcp(['^DHCP: 4a6f1b0a,f8ffffff,496f1b0a,496f1b0a,0808080a,04040808,150000000,50000000']), {
    address: '10.27.111.74', netmask: '255.255.255.248', gateway: '10.27.111.73', dhcpServer: '10.27.111.73',
    dns: ['10.8.8.8', '8.8.4.4'], rxBps: 150000000, txBps: 50000000,
  });
  assert.equal(p.parseHuaweiDhcp(['^DHCP: 0,0,0,0,0,0,0,0']), undefined);
  assert.equal(p.prefixLength('255.255.255.248'), 29);
});

test('bearer state: ^NDISSTAT, ^NDISSTATQRY, CGACT, CGEV', () => {
  assert.deepEqual(p.parseNdisStat('^NDISSTAT: 1,,,"IPV4"'), { stat: 1, connected: true, pdpType: 'IPV4' });
  assert.deepEqual(p.parseNdisStat('^NDISSTAT: 0,33,,"IPV4"'), { stat: 0, connected: false, error: 33, pdpType: 'IPV4' });
  assert.deepEqual(p.parseNdisStat('^NDISSTATQRY: 1,,,"IPV4",0,,,"IPV6"'), { stat: 1, connected: true, pdpType: 'IPV4' });
  assert.deepEqual([...p.parseCgact(['+CGACT: 1,1', '+CGACT: 2,0'])], [[1, true], [2, false]]);
  assert.deepEqual(p.parseCgev('+CGEV: NW PDN DEACT 1'), { up: false, cid: 1 });
  assert.deepEqual(p.parseCgev('+CGEV: ME PDN ACT 1'), { up: true, cid: 1 });
  assert.deepEqual(p.parseCgev('+CGEV: NW DETACH'), { up: false, cid: undefined });
});

test('USSD replies: plain, UCS2 hex, Huawei packed GSM 7-bit hex', () => {
  assert.deepEqual(p.parseCusd('+CUSD: 0,"Ihr Guthaben: 12,34 EUR",15'), { status: 0, dcs: 15, text: 'Ihr Guthaben: 12,34 EUR' });
  assert.deepEqual(p.parseCusd('+CUSD: 0,"00530061006C0064006F003A00200035002C00350030002020AC",72'), {
    status: 0, dcs: 72, text: 'Saldo: 5,50 €',
  });
  // "Saldo 7,50" packed, as Huawei firmware returns it with dcs 15.
  assert.deepEqual(p.parseCusd('+CUSD: 0,"D3309BFC06DD583518",15', { packed: true }), { status: 0, dcs: 15, text: 'Saldo 7,50' });
  assert.deepEqual(p.parseCusd('+CUSD: 4'), { status: 4 });
  assert.deepEqual(p.parseCusd('+CUSD: 2'), { status: 2 });
});

test('SMS listing in text mode', () => {
  const lines = [
    '+CMGL: 1,"REC UNREAD","+491701234567",,"24/11/21,08:00:00+04"',
    's3cr3t STATUS',
    '+CMGL: 2,"REC READ","1266",,"24/11/21,08:05:10+04"',
    'Ihr Guthaben betraegt',
    '12,34 EUR',
  ];
  assert.deepEqual(p.parseSmsList(lines, { mode: 'text' }), [
    { index: 1, status: 'unread', address: '+491701234567', text: 's3cr3t STATUS', timestamp: '2024-11-21T08:00:00+01:00' },
    { index: 2, status: 'read', address: '1266', text: 'Ihr Guthaben betraegt\n12,34 EUR', timestamp: '2024-11-21T08:05:10+01:00' },
  ]);
  // UCS2 character set: numbers and bodies are hex.
  const ucs = ['+CMGR: "REC UNREAD","002B00340039003100370030",,"24/11/21,08:00:00-08"', '0047007200FC00DF0065'];
  assert.deepEqual(p.parseSmsList(ucs, { mode: 'text', ucs2: true, index: 7 }), [
    { index: 7, status: 'unread', address: '+49170', text: 'Grüße', timestamp: '2024-11-21T08:00:00-02:00' },
  ]);
});

test('SMS listing in PDU mode: GSM 7-bit, UCS2, concatenated parts, a broken PDU', () => {
  const ts = '2024-11-21T12:30:00+01:00';
  const lines = [
    '+CMGL: 0,1,,24',
    '07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07',
    // UCS2 from +4917012345: "Grüße €"
    '+CMGL: 1,0,,29',
    '07911326040000F0040A9194711032540008421112210300400E0047007200FC00DF0065002020AC',
    // Part 1 of 2, GSM 7-bit with an 8-bit concatenation header; "Hi" starts after one fill bit.
    '+CMGL: 4,0,,24',
    '07911326040000F0440A91947110325400004211122103004009050003AB02019069',
    '+CMGL: 5,0,,10',
    '00040A91947110325400004211121800004A0ZZ',
    '+CMGL: 6,0,,10',
    '07911326040000F0040A9194',
  ];
  const got = p.parseSmsList(lines, { mode: 'pdu' });
  assert.deepEqual(got.slice(0, 3), [
    { index: 0, status: 'read', address: '+31641600986', text: 'How are you?', timestamp: '2002-08-26T19:37:41-00:00' },
    { index: 1, status: 'unread', address: '+4917012345', text: 'Grüße €', timestamp: ts },
    { index: 4, status: 'unread', address: '+4917012345', text: 'Hi', timestamp: ts, concat: { ref: 0xab, total: 2, seq: 1 } },
  ]);
  assert.deepEqual(got.slice(3).map((e) => [e.index, e.text, e.error]), [[5, '', 'no PDU line'], [6, '', 'PDU too short: want 5 octets at 11']]);
});

test('+CMTI and +CMGS', () => {
  assert.deepEqual(p.parseCmti('+CMTI: "SM",3'), { storage: 'SM', index: 3 });
  assert.deepEqual(p.parseCmti('+CMTI: "ME",12'), { storage: 'ME', index: 12 });
  assert.equal(p.parseCmti('+CMTI: "SM"'), undefined);
  assert.equal(p.parseCmgs(['+CMGS: 42']), 42);
});
