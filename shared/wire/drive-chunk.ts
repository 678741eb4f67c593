// Shipping a drive to HQ (issue 11, item 5): a piece of one drive file, brotli-compressed, at a byte offset; HQ answers
// with how much of that file it now holds, so a resend after a restart or an outage neither loses nor doubles a line.
import { z } from 'zod';

/*
 * POST /v1/drive?segment=FILE&offset=N   (agents' API, inside the tunnel)
 *   content-type: application/octet-stream; the body is brotli of the file's bytes [N, N + whole lines).
 *   200 { segment, have }   HQ holds the file's first `have` bytes (a piece it held already, or partly, counts once).
 *   409 { error: DRIVE_GAP, have }   N is past what HQ holds: send again from `have`.
 *   400 INVALID   not brotli, not whole drive lines (the message names the line), a header where none belongs.
 * The agent moves its cursor to `have` only from HQ's answer: an unanswered piece is sent again.
 */

/** A drive file's name as the recorder makes it (agent/drive/recorder.ts): one segment, one agent start. */
export const driveSegmentName = z.string().regex(/^drive-[0-9A-Za-z-]{1,60}\.jsonl$/, 'must be a drive file name (drive-<time>.jsonl)');

export const driveChunkQuerySchema = z.strictObject({
  segment: driveSegmentName,
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type DriveChunkQuery = z.infer<typeof driveChunkQuerySchema>;

export interface DriveChunkReply {
  segment: string;
  have: number;
}

/** Most bytes one piece may hold once decompressed (the agent sends far less: DRIVE_CHUNK_MAX). */
export const DRIVE_CHUNK_LIMIT = 4 << 20;
/** Most raw bytes the agent puts in one piece. */
export const DRIVE_CHUNK_MAX = 1 << 20;
