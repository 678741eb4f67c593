// Connect-list: the schema refuses bad entries naming them; matching and AP picking follow the documented rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConnectList, describeEntry, type ConnectList } from '../../shared/config/connect-list.js';
import { allowedCandidates, judgeScan, pickAp, securityOf } from '../../agent/policy/connect-list.js';
import type { ScanEntry } from '../../agent/drivers/radio.js';

const OPEN = '[ESS]';
const PSK = '[WPA2-PSK-CCMP][ESS]';
const ap = (bssid: string, ssid: string, signal: number, flags = OPEN): ScanEntry => ({ bssid, ssid, signal, freq: 2412, flags });

test('connect-list schema: valid entries are normalized', () => {
  const list = parseConnectList([
    { ssid: 'depot', min_signal: -80 },
    { ssid: 'street-7', security: 'psk', psk: 'correct horse', min_signal: -78 },
    { ssid_prefix: 'city-', area: '02:00:00:00:01', min_signal: -75 },
    { ssid: 'yard', bssid: '02:00:00:00:02:0A', addressing: { static: { address: '10.7.0.20/24', gateway: '10.7.0.1' } } },
  ]);
  assert.deepEqual(list[0], { ssid: 'depot', min_signal: -80, security: 'open', addressing: { mode: 'dhcp' } });
  assert.equal(list[1]!.psk, 'correct horse');
  assert.equal(list[2]!.area, '02:00:00:00:01');
  assert.deepEqual(list[3], { ssid: 'yard', bssid: '02:00:00:00:02:0a', min_signal: -80, security: 'open', addressing: { mode: 'static', address: '10.7.0.20/24', gateway: '10.7.0.1' } });
  assert.equal(describeEntry(list[2]!, 2), 'connect_list[2] "city-"* @02:00:00:00:01:* ≥-75dBm');
  assert.deepEqual(parseConnectList([]), []);
});

test('connect-list schema: bad entries are refused with the entry named', () => {
  const ok = { ssid: 'depot', min_signal: -80 };
  const table: Array<{ name: string; given: unknown; want: RegExp }> = [
    { name: 'malformed bssid', given: [ok, ok, { ssid: 'x', bssid: '02:00:zz' }], want: /^config: connect_list\[2\]\.bssid: "02:00:zz" is not a MAC address$/ },
    { name: 'partial bssid hints at area', given: [{ ssid: 'x', bssid: '02:00:00:00:01' }], want: /connect_list\[0\]\.bssid: "02:00:00:00:01" is not a MAC address \(for a prefix matching several APs, use area\)/ },
    { name: 'full MAC as area', given: [{ ssid: 'x', area: '02:00:00:00:01:02' }], want: /connect_list\[0\]\.area: "02:00:00:00:01:02" is not a BSSID prefix \(a full MAC: use bssid\)/ },
    { name: 'positive dBm', given: [ok, { ssid: 'x', min_signal: 5 }], want: /connect_list\[1\]\.min_signal: 5 is not a signal level \(dBm are negative/ },
    { name: 'dBm out of range', given: [{ ssid: 'x', min_signal: -200 }], want: /connect_list\[0\]\.min_signal: -200 dBm is below/ },
    { name: 'unknown security', given: [{ ssid: 'x', security: 'wep' }], want: /connect_list\[0\]\.security: unknown security "wep" \(use open or psk\)/ },
    { name: 'psk without psk', given: [{ ssid: 'x', security: 'psk' }], want: /connect_list\[0\]\.psk: security psk needs a psk/ },
    { name: 'psk on open', given: [{ ssid: 'x', psk: 'abcdefgh' }], want: /connect_list\[0\]\.psk: a psk on an open entry/ },
    { name: 'no ssid', given: [{ bssid: '02:00:00:00:00:01' }], want: /connect_list\[0\]\.ssid: needs ssid/ },
    { name: 'ssid and prefix', given: [{ ssid: 'a', ssid_prefix: 'a' }], want: /connect_list\[0\]\.ssid_prefix: give ssid or ssid_prefix, not both/ },
    { name: 'bssid and area', given: [{ ssid: 'a', bssid: '02:00:00:00:00:01', area: '02:00' }], want: /connect_list\[0\]\.area: give bssid or area/ },
    { name: 'ssid too long', given: [{ ssid: 'x'.repeat(33) }], want: /connect_list\[0\]\.ssid: ssid "x+" is longer than 32 bytes/ },
    { name: 'typo in a key', given: [{ ssid: 'x', min_sigal: -70 }], want: /connect_list\[0\]: Unrecognized key: "min_sigal"/ },
    { name: 'bad static address', given: [{ ssid: 'x', addressing: { static: { address: '10.7.0.20', gateway: '10.7.0.1' } } }], want: /connect_list\[0\]\.addressing\.static\.address: "10\.7\.0\.20" is not an IPv4 address with its prefix/ },
    { name: 'gateway outside', given: [{ ssid: 'x', addressing: { static: { address: '10.7.0.20/24', gateway: '10.8.0.1' } } }], want: /connect_list\[0\]\.addressing\.static\.gateway: 10\.8\.0\.1 is not inside 10\.7\.0\.20\/24/ },
    { name: 'unknown addressing', given: [{ ssid: 'x', addressing: 'bootp' }], want: /connect_list\[0\]\.addressing: addressing must be dhcp or/ },
    { name: 'not a list', given: { ssid: 'x' }, want: /connect_list: connect_list must be a list/ },
  ];
  for (const { name, given, want } of table) {
    assert.throws(() => parseConnectList(given), (e: Error) => {
      assert.equal(e.name, 'InputError', name);
      assert.match(e.message, want, name);
      return true;
    }, name);
  }
});

test('connect-list schema: a bad psk is refused without quoting it', () => {
  assert.throws(() => parseConnectList([{ ssid: 'x', security: 'psk', psk: 'short' }]), (e: Error) => {
    assert.match(e.message, /connect_list\[0\]\.psk: not a valid psk \(8 to 63 printable ASCII characters, or 64 hex digits; got 5 characters\)/);
    assert.doesNotMatch(e.message, /short/);
    return true;
  });
});

test('securityOf reads wpa_supplicant flags', () => {
  const table: Array<[string, string]> = [
    ['[ESS]', 'open'], ['[WPA2-PSK-CCMP][ESS]', 'psk'], ['[WPA-PSK-TKIP+CCMP][WPA2-PSK-TKIP+CCMP][WPS][ESS]', 'psk'],
    ['[WPA2-PSK+SAE-CCMP][ESS]', 'psk'], ['[WPA2-EAP-CCMP][ESS]', 'other'], ['[WEP][ESS]', 'other'], ['[WPA2-SAE-CCMP][ESS]', 'other'], ['', 'open'],
  ];
  for (const [flags, want] of table) assert.equal(securityOf(flags), want, flags);
});

const LIST: ConnectList = parseConnectList([
  { ssid: 'depot', min_signal: -80 },
  { ssid: 'street-7', bssid: '02:00:00:00:02:01', min_signal: -60 }, // strict for one AP…
  { ssid_prefix: 'street-', area: '02:00:00:00:02', min_signal: -85 }, // …looser for the rest of the area
  { ssid: 'secure', security: 'psk', psk: 'secret-passphrase', min_signal: -80 },
]);

test('allowedCandidates: first matching entry decides, ordered by list then signal', () => {
  const table: Array<{ name: string; scan: ScanEntry[]; exclude?: string[]; want: Array<[string, number]> }> = [
    { name: 'nothing else is allowed', scan: [ap('02:00:00:00:09:01', 'cafe', -40)], want: [] },
    { name: 'below min_signal', scan: [ap('02:00:00:00:00:01', 'depot', -81)], want: [] },
    { name: 'at min_signal', scan: [ap('02:00:00:00:00:01', 'depot', -80)], want: [['02:00:00:00:00:01', 0]] },
    {
      name: 'list order before signal, then signal',
      scan: [ap('02:00:00:00:02:05', 'street-9', -50), ap('02:00:00:00:00:02', 'depot', -75), ap('02:00:00:00:00:01', 'depot', -70)],
      want: [['02:00:00:00:00:01', 0], ['02:00:00:00:00:02', 0], ['02:00:00:00:02:05', 2]],
    },
    { name: 'a strict entry is not undone by a looser one below', scan: [ap('02:00:00:00:02:01', 'street-7', -70)], want: [] },
    { name: 'the strict entry allows when strong', scan: [ap('02:00:00:00:02:01', 'street-7', -55)], want: [['02:00:00:00:02:01', 1]] },
    { name: 'area prefix', scan: [ap('02:00:00:00:02:07', 'street-7', -84), ap('02:00:00:00:03:07', 'street-7', -40)], want: [['02:00:00:00:02:07', 2]] },
    { name: 'open look-alike of a psk network', scan: [ap('02:00:00:00:04:01', 'secure', -40, OPEN), ap('02:00:00:00:04:02', 'secure', -70, PSK)], want: [['02:00:00:00:04:02', 3]] },
    { name: 'psk AP does not match an open entry', scan: [ap('02:00:00:00:00:03', 'depot', -40, PSK)], want: [] },
    { name: 'excluded (the other radio, hold-down)', scan: [ap('02:00:00:00:00:01', 'depot', -50), ap('02:00:00:00:00:02', 'depot', -60)], exclude: ['02:00:00:00:00:01'], want: [['02:00:00:00:00:02', 0]] },
    { name: 'BSSID case does not matter', scan: [ap('02:00:00:00:02:0A', 'street-x', -60)], exclude: ['02:00:00:00:02:0a'], want: [] },
  ];
  for (const { name, scan, exclude, want } of table) {
    const got = allowedCandidates(scan, LIST, exclude).map((c) => [c.ap.bssid, c.index]);
    assert.deepEqual(got, want, name);
  }
});

test('judgeScan explains every AP', () => {
  const scan = [ap('02:00:00:00:00:01', 'depot', -90), ap('02:00:00:00:09:01', 'cafe', -40), ap('02:00:00:00:00:02', 'depot', -50)];
  assert.deepEqual(judgeScan(scan, LIST, ['02:00:00:00:00:02']).map((v) => v.verdict), ['too-weak', 'not-listed', 'excluded']);
});

test('pickAp: best allowed not used by the other radio, sticky within a margin', () => {
  const scan = [ap('02:00:00:00:00:01', 'depot', -60), ap('02:00:00:00:00:02', 'depot', -57), ap('02:00:00:00:02:05', 'street-9', -40)];
  const table: Array<{ name: string; exclude?: string[]; current?: string | null; marginDb?: number; want: string | null }> = [
    { name: 'fresh radio takes the first entry, strongest AP', want: '02:00:00:00:00:02' },
    { name: 'not the other radio\'s AP', exclude: ['02:00:00:00:00:02'], want: '02:00:00:00:00:01' },
    { name: 'both depot APs taken: next entry', exclude: ['02:00:00:00:00:01', '02:00:00:00:00:02'], want: '02:00:00:00:02:05' },
    { name: 'stays on its AP for 3 dB', current: '02:00:00:00:00:01', want: '02:00:00:00:00:01' },
    { name: 'moves for the margin', current: '02:00:00:00:00:01', marginDb: 3, want: '02:00:00:00:00:02' },
    { name: 'moves to an earlier entry whatever the signal', current: '02:00:00:00:02:05', want: '02:00:00:00:00:02' },
    { name: 'current no longer allowed', current: '02:00:00:00:09:09', want: '02:00:00:00:00:02' },
  ];
  for (const { name, exclude, current, marginDb, want } of table) {
    const got = pickAp({ scan, list: LIST, exclude, current, marginDb });
    assert.equal(got?.ap.bssid ?? null, want, name);
  }
  assert.equal(pickAp({ scan: [ap('02:00:00:00:09:01', 'cafe', -30)], list: LIST }), null, 'nothing allowed');
});
