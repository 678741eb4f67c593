// Prepaid balance from a USSD or SMS reply in the usual carrier phrasings (EUR/USD/GBP…, decimal comma or point).

export interface Balance {
  amount: number;
  /** ISO 4217 code when the reply names a currency. */
  currency?: string;
}

const CURRENCIES: Array<[RegExp, string]> = [
  [/^(?:eur|euros?|€)$/i, 'EUR'],
  [/^(?:usd|\$|us\$)$/i, 'USD'],
  [/^(?:gbp|£)$/i, 'GBP'],
  [/^(?:chf|fr\.?)$/i, 'CHF'],
  [/^(?:pln|zł|zl)$/i, 'PLN'],
  [/^(?:czk|kč|kc)$/i, 'CZK'],
  [/^(?:sek|nok|dkk)$/i, ''],
  [/^(?:huf|ft)$/i, 'HUF'],
  [/^(?:ron|lei)$/i, 'RON'],
  [/^(?:try|tl|₺)$/i, 'TRY'],
  [/^(?:brl|r\$)$/i, 'BRL'],
  [/^(?:inr|rs\.?|₹)$/i, 'INR'],
  [/^(?:rub|₽|руб\.?)$/i, 'RUB'],
  [/^(?:uah|₴|грн\.?)$/i, 'UAH'],
];

const CUR_TOKEN = '(€|\\$|£|₺|₹|₽|₴|R\\$|US\\$|EUR|euros?|USD|GBP|CHF|Fr\\.|PLN|zł|zl|CZK|Kč|SEK|NOK|DKK|HUF|Ft|RON|lei|TRY|TL|BRL|INR|Rs\\.?|RUB|руб\\.?|UAH|грн\\.?)';
// Linear in the text's length (a 20,000-digit text once took 1 s of the event loop, 2026-12): a number starts
// where no digit is just before it, its whole part is not followed by one, and its parts are bounded (at most 12 digits, at most 4 thousands groups), so
// a failed match backtracks a bounded distance from each start.
const NUM = '(-?\\s?(?<!\\d)(?:\\d{1,3}(?:[.,\\u00a0\' ]\\d{3}){1,4}(?!\\d)(?:[.,]\\d{1,2})?|\\d{1,12}(?!\\d)(?:[.,]\\d{1,2})?))';
const KEYWORDS = /(balance|guthaben|kontostand|saldo|cr[eé]dit[oa]?|solde|restguthaben|stan konta|zůstatek|баланс|rimanente|restbetrag|account has|remaining credit)/i;

function currencyOf(token: string): string | undefined {
  const t = token.trim();
  for (const [re, code] of CURRENCIES) if (re.test(t)) return code || t.toUpperCase();
  return undefined;
}

/** "1.234,56" / "1,234.56" / "12,34" / "12.5" / "1 234,00" to a number. */
export function parseAmount(raw: string): number | undefined {
  let s = raw.replace(/[\s\u00a0']/g, '');
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  const lastSep = Math.max(s.lastIndexOf('.'), s.lastIndexOf(','));
  let n: number;
  if (lastSep < 0) n = Number(s);
  else {
    const decimals = s.length - lastSep - 1;
    if (decimals === 3 && (s.match(/[.,]/g) ?? []).every((c) => c === s[lastSep])) n = Number(s.replace(/[.,]/g, ''));
    else n = Number(`${s.slice(0, lastSep).replace(/[.,]/g, '')}.${s.slice(lastSep + 1)}`);
  }
  if (!Number.isFinite(n)) return undefined;
  return neg ? -n : n;
}

interface Candidate {
  at: number;
  amount: number;
  currency?: string;
}

/**
 * The balance in a carrier's reply, or undefined. A number next to a currency wins (the first one after a
 * balance keyword, if there is one); without a currency, the first plain number after a balance keyword that is
 * not a date, a data volume or a count of minutes or messages.
 */
export function parseBalance(text: string): Balance | undefined {
  const t = text.replace(/\s+/g, ' ');
  const found: Candidate[] = [];
  const before = new RegExp(`${CUR_TOKEN}\\s?${NUM}`, 'giu');
  const after = new RegExp(`${NUM}\\s?${CUR_TOKEN}(?![\\p{L}])`, 'giu');
  for (const m of t.matchAll(before)) {
    const amount = parseAmount(m[2]!);
    const cur = currencyOf(m[1]!);
    if (amount !== undefined && cur && !/^\d/.test(t.slice(m.index! - 1, m.index!))) found.push({ at: m.index!, amount, currency: cur });
  }
  for (const m of t.matchAll(after)) {
    const amount = parseAmount(m[1]!);
    const cur = currencyOf(m[2]!);
    if (amount !== undefined && cur) found.push({ at: m.index!, amount, currency: cur });
  }
  const kw = KEYWORDS.exec(t);
  const kwAt = kw ? kw.index : -1;
  if (found.length > 0) {
    found.sort((a, b) => a.at - b.at);
    const pick = found.find((c) => kwAt >= 0 && c.at >= kwAt) ?? found[0]!;
    return pick.currency ? { amount: pick.amount, currency: pick.currency } : { amount: pick.amount };
  }
  if (!kw) return undefined;
  const rest = t.slice(kwAt + kw[0].length);
  const plain = new RegExp(`${NUM}(?!\\d|\\s?(?:[.,/]\\d|%|mb|gb|kb|min|minutes|sms|mms|tage|days|h\\b|:\\d))`, 'giu');
  for (const m of rest.matchAll(plain)) {
    const prev = rest.slice(Math.max(0, m.index! - 1), m.index!);
    if (/[\d.,/]/.test(prev)) continue;
    const amount = parseAmount(m[1]!);
    if (amount !== undefined) return { amount };
  }
  return undefined;
}

export function isLowBalance(b: Balance | undefined, threshold: number | undefined): boolean {
  return b !== undefined && threshold !== undefined && b.amount < threshold;
}
