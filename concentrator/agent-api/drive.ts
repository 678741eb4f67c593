// A piece of a vehicle's drive arriving on the agents' API: decompressed within a bound, checked line by line, then
// appended to the drives store (a resend's part held already dropped, a piece past the end answered as a gap).
import { brotliDecompressSync } from 'node:zlib';
import { InputError } from '../../shared/errors.js';
import { checkDriveChunk, DriveError } from '../../shared/wire/drive.js';
import { DRIVE_CHUNK_LIMIT, type DriveChunkQuery } from '../../shared/wire/drive-chunk.js';
import type { AppendResult, DriveRepository } from '../store/drives/repository.js';

/** Stores `body` (brotli of the file's bytes from query.offset) for `vehicle`; throws InputError naming what is wrong. */
export function receivePiece(repo: Pick<DriveRepository, 'append'>, vehicle: string, q: DriveChunkQuery, body: Buffer, receivedAt: number): Promise<AppendResult> {
  let raw: Buffer;
  try {
    raw = brotliDecompressSync(body, { maxOutputLength: DRIVE_CHUNK_LIMIT });
  } catch (err) {
    const big = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || (err as Error).name === 'RangeError';
    throw new InputError(big ? `larger than ${DRIVE_CHUNK_LIMIT} bytes once decompressed` : 'not brotli-compressed', '(body)');
  }
  const text = raw.toString('utf8');
  let info;
  try {
    info = checkDriveChunk(text, q.offset === 0, `${q.segment} from byte ${q.offset}`);
  } catch (err) {
    if (err instanceof DriveError) throw new InputError(err.message, '(body)');
    throw err;
  }
  return repo.append({ vehicle, segment: q.segment, offset: q.offset, text, start_wall: info.header?.start_wall ?? null, last_t: info.lastT, sites: info.sites, compressed: body }, receivedAt);
}
