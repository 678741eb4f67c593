// Pure IPv4 address and CIDR arithmetic: parsing, network addresses, overlap, and lowest-free address allocation.
import { InputError } from '../shared/errors.js';

/** An IPv4 prefix; `addr` is the address as written (host bits possibly set), as an unsigned 32-bit integer. */
export interface Cidr {
  addr: number;
  prefix: number;
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** Dotted quad to an unsigned integer; null when not one (leading zeros are refused: they read as octal elsewhere). */
export function parseIPv4(s: string): number | null {
  const m = IPV4_RE.exec(s);
  if (!m) return null;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** "a.b.c.d/len" (len 0–32) to a Cidr; null when not one. A bare address is not a CIDR. */
export function parseCidr(s: string): Cidr | null {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m) return null;
  const addr = parseIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (addr === null || prefix > 32 || (m[2]!.length > 1 && m[2]!.startsWith('0'))) return null;
  return { addr, prefix };
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function networkOf(c: Cidr): number {
  return (c.addr & mask(c.prefix)) >>> 0;
}

export function lastOf(c: Cidr): number {
  return (networkOf(c) | (~mask(c.prefix) >>> 0)) >>> 0;
}

export function isNetworkAddress(c: Cidr): boolean {
  return networkOf(c) === c.addr;
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.addr)}/${c.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return networkOf(a) <= lastOf(b) && networkOf(b) <= lastOf(a);
}

export function containsAddress(c: Cidr, ip: number): boolean {
  return networkOf(c) <= ip && ip <= lastOf(c);
}

/** The first usable host of a network (network address + 1; for /31 and /32, the first address). */
export function firstHost(c: Cidr): number {
  return c.prefix >= 31 ? networkOf(c) : networkOf(c) + 1;
}

/**
 * The lowest host address of `net` that is neither the network nor the broadcast address, nor in `taken`
 * (addresses as integers). null when the network is full.
 */
export function lowestFree(net: Cidr, taken: Iterable<number>): number | null {
  const used = new Set(taken);
  const first = firstHost(net);
  const last = net.prefix >= 31 ? lastOf(net) : lastOf(net) - 1;
  for (let a = first; a <= last; a++) if (!used.has(a)) return a;
  return null;
}

/** Parses a CIDR or throws an InputError naming `field`: `--subnet: 10.20.1.0/33 is not an IPv4 CIDR`. */
export function requireCidr(s: string, field: string): Cidr {
  const c = parseCidr(s);
  if (!c) throw new InputError(`${s} is not an IPv4 CIDR (like 10.20.1.0/24)`, field);
  return c;
}

/** Parses a CIDR that must be a network address (host bits zero), else throws an InputError naming `field`. */
export function requireNetwork(s: string, field: string): Cidr {
  const c = requireCidr(s, field);
  if (!isNetworkAddress(c)) {
    throw new InputError(`${s} is not a network address: its host bits are set (did you mean ${formatIPv4(networkOf(c))}/${c.prefix}?)`, field);
  }
  return c;
}

/** The private ranges (RFC 1918): every vehicle subnet pool lies inside one of them. */
export const PRIVATE_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

/** Special-purpose ranges (RFC 6890 and kin) no vehicle LAN may overlap, each with what it is. */
export const RESERVED_RANGES: ReadonlyArray<{ cidr: string; what: string }> = [
  { cidr: '0.0.0.0/8', what: '"this network"' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local' },
  { cidr: '100.64.0.0/10', what: 'shared address space (carrier-grade NAT)' },
  { cidr: '192.0.0.0/24', what: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', what: 'documentation (TEST-NET-1)' },
  { cidr: '198.18.0.0/15', what: 'benchmarking' },
  { cidr: '198.51.100.0/24', what: 'documentation (TEST-NET-2)' },
  { cidr: '203.0.113.0/24', what: 'documentation (TEST-NET-3)' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved (and broadcast)' },
];

/** What reserved range `c` overlaps ("127.0.0.0/8 (loopback)"), or null. Pure. */
export function reservedOverlap(c: Cidr): string | null {
  for (const r of RESERVED_RANGES) if (overlaps(c, parseCidr(r.cidr)!)) return `${r.cidr} (${r.what})`;
  return null;
}

/** True when `inner` lies wholly inside `outer`. */
export function within(inner: Cidr, outer: Cidr): boolean {
  return networkOf(outer) <= networkOf(inner) && lastOf(inner) <= lastOf(outer);
}

/** True when `c` lies wholly inside one of the private ranges. */
export function isPrivate(c: Cidr): boolean {
  return PRIVATE_RANGES.some((p) => within(c, parseCidr(p)!));
}

/**
 * The lowest /`prefix` block inside the `pool` entries (in their order) that overlaps nothing in `taken` and no
 * reserved range; null when every entry is full. Pure; the blockers are walked in address order and each block in the
 * way is jumped past, so 10,000 taken subnets cost one sort and one pass, not one scan per candidate.
 */
export function firstFreeSubnet(pool: readonly Cidr[], prefix: number, taken: readonly Cidr[]): Cidr | null {
  const size = 2 ** (32 - prefix);
  const blockers = [...taken, ...RESERVED_RANGES.map((r) => parseCidr(r.cidr)!)].map((b) => ({ first: networkOf(b), last: lastOf(b) })).sort((a, b) => a.first - b.first);
  for (const entry of pool) {
    if (entry.prefix > prefix) continue; // the entry is smaller than one block
    const end = lastOf(entry);
    let start = networkOf(entry);
    let i = 0;
    while (start + size - 1 <= end) {
      const candEnd = start + size - 1;
      while (i < blockers.length && blockers[i]!.last < start && blockers[i]!.first <= start) i++;
      let hit: { first: number; last: number } | undefined;
      for (let j = i; j < blockers.length && blockers[j]!.first <= candEnd; j++) {
        if (blockers[j]!.last >= start && (!hit || blockers[j]!.last > hit.last)) hit = blockers[j];
      }
      if (!hit) return { addr: start, prefix };
      // The next aligned block after the one in the way.
      start = Math.ceil((hit.last + 1) / size) * size;
    }
  }
  return null;
}
