// Pure readings of the kernel's host files: thermal zones (millidegrees) to one CPU temperature, a USB device's sysfs
// attributes to its identity.

/** The hottest plausible thermal zone in °C from `temp` files' text (millidegrees); null when none reads. */
export function hottestZone(temps: ReadonlyArray<string | null>): number | null {
  let best: number | null = null;
  for (const t of temps) {
    if (t === null) continue;
    const milli = Number(t.trim());
    // A zone that is not wired reads 0 or a sentinel such as -274000: not a temperature.
    if (!Number.isFinite(milli) || milli <= -60_000 || milli >= 200_000 || milli === 0) continue;
    const c = Math.round(milli / 100) / 10;
    if (best === null || c > best) best = c;
  }
  return best;
}

/** A USB device's identity from its sysfs attributes (idVendor, idProduct, manufacturer, product); null without ids. */
export function usbIdentity(attrs: { idVendor: string | null; idProduct: string | null; manufacturer: string | null; product: string | null }):
  { vendor_id: string; product_id: string; manufacturer: string | null; product: string | null } | null {
  const id = (s: string | null) => {
    const v = s?.trim().toLowerCase() ?? '';
    return /^[0-9a-f]{4}$/.test(v) ? v : null;
  };
  const vendor = id(attrs.idVendor);
  const product = id(attrs.idProduct);
  if (!vendor || !product) return null;
  // Printable text only, bounded: a device names itself, and the name goes on the wire and into HTML.
  const name = (s: string | null) => {
    const v = s?.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 64) ?? '';
    return v || null;
  };
  return { vendor_id: vendor, product_id: product, manufacturer: name(attrs.manufacturer), product: name(attrs.product) };
}
