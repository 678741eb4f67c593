// wpa_supplicant 2.10 control-interface text: replies and event lines, parsed from captured-looking fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeSsid, encodeSsidText, isEventMessage, parseEvent, parseListNetworks, parseScanResults, parseSignalPoll, parseStatus, ssidArg,
} from '../../agent/drivers/wpa/wpa.parse.js';
import { redactCommand } from '../../agent/drivers/wpa/wpa.ctrl.js';

const SCAN_RESULTS = [
  'bssid / frequency / signal level / flags / ssid',
  '02:00:00:00:01:00\t2412\t-48\t[WPA2-PSK-CCMP][ESS]\tdepot',
  '02:00:00:00:02:0A\t5180\t-71\t[ESS]\tstreet-7',
  '02:00:00:00:03:00\t2437\t-80\t[WPA-PSK-CCMP+TKIP][WPA2-PSK-CCMP+TKIP][WPS][ESS]\tcaf\\xc3\\xa9 \\"x\\" \\\\ y',
  '02:00:00:00:04:00\t2462\t-85\t[ESS]\t',
  '',
].join('\n');

test('parseScanResults', () => {
  assert.deepEqual(parseScanResults(SCAN_RESULTS), [
    { bssid: '02:00:00:00:01:00', ssid: 'depot', signal: -48, freq: 2412, flags: '[WPA2-PSK-CCMP][ESS]' },
    { bssid: '02:00:00:00:02:0a', ssid: 'street-7', signal: -71, freq: 5180, flags: '[ESS]' },
    { bssid: '02:00:00:00:03:00', ssid: 'café "x" \\ y', signal: -80, freq: 2437, flags: '[WPA-PSK-CCMP+TKIP][WPA2-PSK-CCMP+TKIP][WPS][ESS]' },
    { bssid: '02:00:00:00:04:00', ssid: '', signal: -85, freq: 2462, flags: '[ESS]' },
  ]);
  assert.deepEqual(parseScanResults('bssid / frequency / signal level / flags / ssid\n'), []);
  assert.throws(() => parseScanResults('FAIL\n'), /unexpected SCAN_RESULTS reply: "FAIL\\n"/);
});

test('parseStatus: associated and not', () => {
  const connected = [
    'bssid=02:00:00:00:01:00', 'freq=2412', 'ssid=depot', 'id=0', 'mode=station', 'wifi_generation=4', 'pairwise_cipher=CCMP',
    'group_cipher=CCMP', 'key_mgmt=WPA2-PSK', 'wpa_state=COMPLETED', 'ip_address=192.168.50.23', 'p2p_device_address=02:00:00:00:aa:01',
    'address=02:00:00:00:AA:01', 'uuid=f0a3d7e2-6c3b-5d4f-8a1e-2b9c0d1e2f30', 'ieee80211ac=1', '',
  ].join('\n');
  const s = parseStatus(connected);
  assert.deepEqual({ ...s, raw: undefined }, {
    state: 'COMPLETED', bssid: '02:00:00:00:01:00', ssid: 'depot', freq: 2412, id: 0, key_mgmt: 'WPA2-PSK', ip_address: '192.168.50.23',
    address: '02:00:00:00:aa:01', raw: undefined,
  });
  assert.equal(s.raw.wifi_generation, '4');
  assert.deepEqual(parseStatus('wpa_state=DISCONNECTED\np2p_device_address=02:00:00:00:aa:01\naddress=02:00:00:00:aa:01\nuuid=x\n').state, 'DISCONNECTED');
  assert.equal(parseStatus('wpa_state=INTERFACE_DISABLED\n').state, 'INTERFACE_DISABLED');
  assert.equal(parseStatus('wpa_state=SOMETHING_NEW\n').state, 'UNKNOWN');
  assert.throws(() => parseStatus('UNKNOWN COMMAND\n'), /unexpected STATUS reply/);
});

test('parseSignalPoll', () => {
  assert.deepEqual(parseSignalPoll('RSSI=-52\nLINKSPEED=65\nNOISE=9999\nFREQUENCY=2412\nWIDTH=20 MHz\nCENTER_FRQ1=2412\nAVG_RSSI=-53\nAVG_BEACON_RSSI=-52\n'), {
    rssi: -52, linkspeed: 65, frequency: 2412, avg_rssi: -53,
  });
  assert.deepEqual(parseSignalPoll('RSSI=-61\nLINKSPEED=866\nNOISE=-92\nFREQUENCY=5180\n'), { rssi: -61, linkspeed: 866, noise: -92, frequency: 5180 });
  assert.equal(parseSignalPoll('FAIL\n'), null);
  assert.throws(() => parseSignalPoll('OK\n'), /unexpected SIGNAL_POLL reply/);
});

test('parseListNetworks', () => {
  const text = ['network id / ssid / bssid / flags', '0\tdepot\tany\t[CURRENT]', '1\tstreet-7\t02:00:00:00:02:00\t[DISABLED]', '2\tyard\tany\t[DISABLED][TEMP-DISABLED]', '3\tx\\ty\tany\t', ''].join('\n');
  assert.deepEqual(parseListNetworks(text), [
    { id: 0, ssid: 'depot', bssid: null, flags: ['CURRENT'] },
    { id: 1, ssid: 'street-7', bssid: '02:00:00:00:02:00', flags: ['DISABLED'] },
    { id: 2, ssid: 'yard', bssid: null, flags: ['DISABLED', 'TEMP-DISABLED'] },
    { id: 3, ssid: 'x\ty', bssid: null, flags: [] },
  ]);
  assert.deepEqual(parseListNetworks('network id / ssid / bssid / flags\n'), []);
});

test('parseEvent: the events the driver acts on, and the rest', () => {
  const table: Array<[string, Record<string, unknown> | null]> = [
    ['<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]', { kind: 'connected', priority: 3, bssid: '02:00:00:00:01:00', id: 0 }],
    ['<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=3 locally_generated=1', { kind: 'disconnected', priority: 3, bssid: '02:00:00:00:01:00', reason: 3, locally_generated: true }],
    ['<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=15', { kind: 'disconnected', priority: 3, bssid: '02:00:00:00:01:00', reason: 15, locally_generated: false }],
    ['<3>CTRL-EVENT-SCAN-STARTED ', { kind: 'scan-started', priority: 3 }],
    ['<3>CTRL-EVENT-SCAN-RESULTS ', { kind: 'scan-results', priority: 3 }],
    ['<3>CTRL-EVENT-SCAN-FAILED ret=-16 retry=1', { kind: 'scan-failed', priority: 3, ret: -16 }],
    ['<3>CTRL-EVENT-SSID-TEMP-DISABLED id=1 ssid="street \\"7\\"" auth_failures=2 duration=20 reason=WRONG_KEY', { kind: 'ssid-temp-disabled', priority: 3, id: 1, ssid: 'street "7"', auth_failures: 2, duration: 20, reason: 'WRONG_KEY' }],
    ['<3>CTRL-EVENT-SSID-REENABLED id=1 ssid="street-7"', { kind: 'ssid-reenabled', priority: 3, id: 1, ssid: 'street-7' }],
    ['<3>CTRL-EVENT-ASSOC-REJECT bssid=02:00:00:00:01:00 status_code=17', { kind: 'assoc-reject', priority: 3, bssid: '02:00:00:00:01:00', status_code: 17 }],
    ['<3>CTRL-EVENT-NETWORK-NOT-FOUND', { kind: 'network-not-found', priority: 3 }],
    ['<3>CTRL-EVENT-TERMINATING', { kind: 'terminating', priority: 3 }],
    ["<3>Trying to associate with 02:00:00:00:01:00 (SSID='depot' freq=2412 MHz)", { kind: 'other', priority: 3, name: 'Trying' }],
    ['<2>CTRL-EVENT-BSS-ADDED 0 02:00:00:00:01:00', { kind: 'other', priority: 2, name: 'CTRL-EVENT-BSS-ADDED' }],
    ['OK\n', null],
    ['wpa_state=COMPLETED\n', null],
  ];
  for (const [line, want] of table) {
    const got = parseEvent(line);
    if (want === null) {
      assert.equal(got, null, line);
      assert.equal(isEventMessage(line), false, line);
      continue;
    }
    assert.ok(got, line);
    assert.equal(got.raw, line);
    assert.deepEqual({ ...got, raw: undefined }, { ...want, raw: undefined }, line);
  }
});

test('SSID text: printf encoding both ways, and the SET_NETWORK argument', () => {
  const table: Array<[string, string]> = [['depot', 'depot'], ['café', 'caf\\xc3\\xa9'], ['a"b\\c', 'a\\"b\\\\c'], ['tab\there\n', 'tab\\there\\n'], ['\x00\x01', '\\x00\\x01']];
  for (const [ssid, text] of table) {
    assert.equal(encodeSsidText(ssid), text, ssid);
    assert.equal(decodeSsid(text), ssid, text);
  }
  assert.equal(ssidArg('depot 7'), '"depot 7"');
  assert.equal(ssidArg('say "hi"'), '"say "hi""'); // wpa_supplicant reads between the first and the last quote
  assert.equal(ssidArg('café'), '636166c3a9');
});

test('redactCommand hides secrets and nothing else', () => {
  assert.equal(redactCommand('SET_NETWORK 0 psk "correct horse battery"'), 'SET_NETWORK 0 psk [redacted]');
  assert.equal(redactCommand('SET_NETWORK 12 sae_password "x y"'), 'SET_NETWORK 12 sae_password [redacted]');
  assert.equal(redactCommand('SET_NETWORK 0 psk 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'), 'SET_NETWORK 0 psk [redacted]');
  assert.equal(redactCommand('SET_NETWORK 0 ssid "psk"'), 'SET_NETWORK 0 ssid "psk"');
  assert.equal(redactCommand('STATUS'), 'STATUS');
});

test('replies captured from a real wpa_supplicant 2.10 (wired driver on a veth, 2026-11)', () => {
  const status = 'bssid=01:80:c2:00:00:03\nfreq=0\nssid=caf\\xc3\\xa9\nid=1\nmode=station\npairwise_cipher=NONE\ngroup_cipher=NONE\nkey_mgmt=NONE\nwpa_state=COMPLETED\naddress=aa:c6:a3:d3:c5:f0\nuuid=d3dcda35-710f-5e37-bf70-e7f57c956ad0\n';
  const s = parseStatus(status);
  assert.deepEqual([s.state, s.ssid, s.bssid, s.id, s.freq], ['COMPLETED', 'café', '01:80:c2:00:00:03', 1, 0]);
  assert.equal(parseStatus('wpa_state=DISCONNECTED\naddress=aa:c6:a3:d3:c5:f0\nuuid=d3dcda35-710f-5e37-bf70-e7f57c956ad0\n').state, 'DISCONNECTED');
  const list = 'network id / ssid / bssid / flags\n0\tdepot 7\t02:00:00:00:01:00\t[DISABLED]\n1\tcaf\\xc3\\xa9\tany\t[CURRENT]\n';
  assert.deepEqual(parseListNetworks(list), [
    { id: 0, ssid: 'depot 7', bssid: '02:00:00:00:01:00', flags: ['DISABLED'] },
    { id: 1, ssid: 'café', bssid: null, flags: ['CURRENT'] },
  ]);
  assert.equal(parseSignalPoll('FAIL\n'), null);
  assert.deepEqual(parseEvent('<3>CTRL-EVENT-CONNECTED - Connection to 01:80:c2:00:00:03 completed [id=1 id_str=]'), {
    kind: 'connected', priority: 3, bssid: '01:80:c2:00:00:03', id: 1, raw: '<3>CTRL-EVENT-CONNECTED - Connection to 01:80:c2:00:00:03 completed [id=1 id_str=]',
  });
  assert.equal(parseEvent('<3>CTRL-EVENT-NETWORK-ADDED 0')?.kind, 'other');
});
