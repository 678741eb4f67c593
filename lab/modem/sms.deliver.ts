// SMS-DELIVER PDUs as a network hands them to a modem: the lab emulator's inbox, multi-part and UCS2 included.
import { encodeUcs2, packSeptets, toSeptets } from '../../agent/drivers/modem/sms.pdu.js';

function semiOctets(digits: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < digits.length; i += 2) {
    const lo = Number(digits[i]);
    const hi = i + 1 < digits.length ? Number(digits[i + 1]) : 0x0f;
    out.push(lo | (hi << 4));
  }
  return out;
}

function address(from: string): number[] {
  if (/^\+?\d+$/.test(from)) {
    const digits = from.replace(/^\+/, '');
    return [digits.length, from.startsWith('+') ? 0x91 : 0x81, ...semiOctets(digits)];
  }
  // Alphanumeric sender ("Vodafone"): GSM 7-bit packed, length in semi-octets.
  const septets = toSeptets(from) ?? toSeptets('Sender')!;
  const packed = packSeptets(septets);
  return [Math.ceil((septets.length * 7) / 4), 0xd0, ...packed];
}

function bcd(n: number): number {
  return (n % 10 << 4) | Math.floor(n / 10);
}

function timestamp(d: Date): number[] {
  return [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0].map(bcd);
}

export interface DeliverOptions {
  smsc?: string;
  date?: Date;
  /** Concatenation reference for multi-part messages. */
  ref?: number;
  /** Use UCS2 even when GSM 7-bit would do. */
  ucs2?: boolean;
  /** Largest part, in septets (GSM) or UTF-16 units (UCS2) before splitting; defaults as on a real network. */
  maxSingle?: number;
}

/** The PDUs (hex, with the SMSC prefix as +CMGL shows them) of one message, split into parts as needed. */
export function encodeDeliver(from: string, text: string, opts: DeliverOptions = {}): string[] {
  const smsc = opts.smsc ?? '+4917100000';
  const smscDigits = smsc.replace(/^\+/, '');
  const smscBytes = [1 + Math.ceil(smscDigits.length / 2), 0x91, ...semiOctets(smscDigits)];
  const ts = timestamp(opts.date ?? new Date());
  const ref = opts.ref ?? 0x42;
  const septets = opts.ucs2 ? null : toSeptets(text);
  const chunks: Array<{ ud: Buffer; udl: number }> = [];
  let dcs: number;
  if (septets) {
    dcs = 0x00;
    const single = opts.maxSingle ?? 160;
    if (septets.length <= single) chunks.push({ ud: packSeptets(septets), udl: septets.length });
    else {
      const per = single - 7;
      const parts: number[][] = [];
      for (let i = 0; i < septets.length; ) {
        let end = Math.min(i + per, septets.length);
        if (end < septets.length && septets[end - 1] === 0x1b) end--;
        parts.push(septets.slice(i, end));
        i = end;
      }
      parts.forEach((p, i) => chunks.push({ ud: packSeptets(p, [5, 0, 3, ref, parts.length, i + 1]), udl: 7 + p.length }));
    }
  } else {
    dcs = 0x08;
    const single = opts.maxSingle ?? 70;
    if (text.length <= single) {
      const ud = encodeUcs2(text);
      chunks.push({ ud, udl: ud.length });
    } else {
      const per = single - 3;
      const parts: string[] = [];
      for (let i = 0; i < text.length; ) {
        let end = Math.min(i + per, text.length);
        const c = text.charCodeAt(end - 1);
        if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--;
        parts.push(text.slice(i, end));
        i = end;
      }
      parts.forEach((p, i) => {
        const ud = Buffer.concat([Buffer.from([5, 0, 3, ref, parts.length, i + 1]), encodeUcs2(p)]);
        chunks.push({ ud, udl: ud.length });
      });
    }
  }
  const multi = chunks.length > 1;
  return chunks.map(({ ud, udl }) => {
    const fo = 0x04 | (multi ? 0x40 : 0);
    const bytes = Buffer.from([...smscBytes, fo, ...address(from), 0x00, dcs, ...ts, udl, ...ud]);
    return bytes.toString('hex').toUpperCase();
  });
}
