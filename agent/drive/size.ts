// What a drive costs to keep and to ship (pure): bytes a day as written (change-only lines), compressed in the batches
// a shipper would send (gzip, and brotli), and, for a baseline, as whole events (every status and reading in full).
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { DriveLineWriter, parseDrive } from '../../shared/wire/drive.js';
import { DriveDecoder } from './drive.codec.js';

export interface DriveSize {
  lines: number;
  ms: number;
  /** Bytes a day at this rate. */
  whole_per_day: number;
  change_only_per_day: number;
  gzip_per_day: number;
  brotli_per_day: number;
}

/** One batch of lines as a shipper would send it: brotli at its best quality (about a fifth smaller than gzip on drives). */
export function compressBatch(text: string): Buffer {
  return brotliCompressSync(text, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(text) } });
}

/** The drive's lines whose time falls in [fromWall, toWall), gzip'd per `batchMs` of drive time. */
export function driveSize(text: string, fromWall: number, toWall: number, batchMs = 60_000): DriveSize {
  let lines = 0;
  let whole = 0;
  let changeOnly = 0;
  let gz = 0;
  let br = 0;
  const batches = new Map<number, string[]>();
  for (const seg of parseDrive(text)) {
    const dec = new DriveDecoder(seg.header);
    // As the recorder writes them (the window's first line with its t).
    const writer = new DriveLineWriter();
    for (const e of seg.events) {
      const wall = seg.header.start_wall + e.t;
      // Decoded whatever the window (the change-only state runs from the segment's start).
      const full = e.e === 'u' ? { t: e.t, e: 'u', status: dec.status(e) } : e.e === 'c' ? { t: e.t, e: 'c', seen: dec.tunnel(e) } : e;
      if (wall < fromWall || wall >= toWall) continue;
      const line = writer.text(e);
      lines++;
      changeOnly += Buffer.byteLength(line);
      whole += Buffer.byteLength(`${JSON.stringify(full)}\n`);
      const b = Math.floor((wall - fromWall) / batchMs);
      (batches.get(b) ?? batches.set(b, []).get(b)!).push(line);
    }
  }
  for (const b of batches.values()) {
    gz += gzipSync(b.join('')).length;
    br += compressBatch(b.join('')).length;
  }
  const ms = toWall - fromWall;
  const perDay = (n: number) => Math.round((n * 86_400_000) / ms);
  return { lines, ms, whole_per_day: perDay(whole), change_only_per_day: perDay(changeOnly), gzip_per_day: perDay(gz), brotli_per_day: perDay(br) };
}
