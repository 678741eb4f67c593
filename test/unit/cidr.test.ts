// IPv4/CIDR arithmetic used by the registry: parsing, network addresses, overlap, lowest-free allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  firstHost, formatCidr, formatIPv4, isNetworkAddress, lastOf, lowestFree, overlaps, parseCidr, parseIPv4, requireCidr, requireNetwork,
} from '../../concentrator/cidr.js';

const ip = (s: string) => parseIPv4(s)!;
const cidr = (s: string) => parseCidr(s)!;

test('parseIPv4 / formatIPv4', () => {
  const table: Array<[string, number | null]> = [
    ['0.0.0.0', 0], ['10.0.0.1', 0x0a000001], ['255.255.255.255', 0xffffffff], ['192.168.1.10', 0xc0a8010a],
    ['256.0.0.1', null], ['10.0.0', null], ['10.0.0.01', null], ['10.0.0.1.', null], [' 10.0.0.1', null], ['a.b.c.d', null], ['', null],
  ];
  for (const [given, want] of table) {
    assert.equal(parseIPv4(given), want, given);
    if (want !== null) assert.equal(formatIPv4(want), given);
  }
});

test('parseCidr', () => {
  const table: Array<{ given: string; want: { addr: string; prefix: number } | null }> = [
    { given: '10.20.1.0/24', want: { addr: '10.20.1.0', prefix: 24 } },
    { given: '10.20.1.5/24', want: { addr: '10.20.1.5', prefix: 24 } },
    { given: '0.0.0.0/0', want: { addr: '0.0.0.0', prefix: 0 } },
    { given: '10.0.0.1/32', want: { addr: '10.0.0.1', prefix: 32 } },
    { given: '10.20.1.0/33', want: null },
    { given: '10.20.1.0/024', want: null },
    { given: '10.20.1.0', want: null },
    { given: '10.20.1.0/', want: null },
    { given: '10.20.1/24', want: null },
    { given: 'fd00::/64', want: null },
  ];
  for (const { given, want } of table) {
    const got = parseCidr(given);
    assert.deepEqual(got && { addr: formatIPv4(got.addr), prefix: got.prefix }, want, given);
  }
});

test('network addresses, first host, last address', () => {
  const table: Array<[string, boolean, string, string]> = [
    ['10.20.1.0/24', true, '10.20.1.1', '10.20.1.255'],
    ['10.20.1.5/24', false, '10.20.1.1', '10.20.1.255'],
    ['10.99.0.0/30', true, '10.99.0.1', '10.99.0.3'],
    ['10.99.0.4/31', true, '10.99.0.4', '10.99.0.5'],
    ['0.0.0.0/0', true, '0.0.0.1', '255.255.255.255'],
  ];
  for (const [given, net, first, last] of table) {
    const c = cidr(given);
    assert.equal(isNetworkAddress(c), net, given);
    assert.equal(formatIPv4(firstHost(c)), first, given);
    assert.equal(formatIPv4(lastOf(c)), last, given);
    assert.equal(formatCidr(c), given);
  }
});

test('overlaps', () => {
  const table: Array<[string, string, boolean]> = [
    ['10.20.0.0/16', '10.20.1.0/24', true],
    ['10.20.1.0/24', '10.20.0.0/16', true],
    ['10.20.1.0/24', '10.20.2.0/24', false],
    ['10.20.1.0/24', '10.20.1.128/25', true],
    ['10.20.1.0/25', '10.20.1.128/25', false],
    ['10.20.1.255/32', '10.20.1.0/24', true],
    ['0.0.0.0/0', '192.168.1.0/24', true],
    ['10.99.0.0/24', '10.98.255.0/24', false],
  ];
  for (const [a, b, want] of table) assert.equal(overlaps(cidr(a), cidr(b)), want, `${a} ${b}`);
});

test('lowestFree', () => {
  const table: Array<{ name: string; net: string; taken: string[]; want: string | null }> = [
    { name: 'empty network takes the first host', net: '10.99.0.0/24', taken: [], want: '10.99.0.1' },
    { name: 'skips HQ', net: '10.99.0.0/24', taken: ['10.99.0.1'], want: '10.99.0.2' },
    { name: 'fills the lowest hole', net: '10.99.0.0/24', taken: ['10.99.0.1', '10.99.0.2', '10.99.0.4'], want: '10.99.0.3' },
    { name: 'never the broadcast', net: '10.99.0.0/30', taken: ['10.99.0.1', '10.99.0.2'], want: null },
    { name: '/29 with room', net: '10.99.0.8/29', taken: ['10.99.0.9'], want: '10.99.0.10' },
  ];
  for (const { name, net, taken, want } of table) {
    const got = lowestFree(cidr(net), taken.map(ip));
    assert.equal(got === null ? null : formatIPv4(got), want, name);
  }
});

test('requireCidr / requireNetwork name the field', () => {
  assert.throws(() => requireCidr('10.20.1.0/33', '--subnet'), { name: 'InputError', message: /^--subnet: 10\.20\.1\.0\/33 is not an IPv4 CIDR/ });
  assert.throws(() => requireNetwork('10.20.1.5/24', '--subnet'), { message: /^--subnet: 10\.20\.1\.5\/24 is not a network address.*did you mean 10\.20\.1\.0\/24/ });
  assert.equal(requireNetwork('10.20.1.0/24', '--subnet').prefix, 24);
});
