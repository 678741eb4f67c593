// What HQ keeps of the vehicles' drives, as an interface: the SQLite store implements it now (service.ts); another store
// (PostgreSQL) implements the same, and the agents' API, the CLI and the simulation only see this.

/** One drive file (a segment: one agent start) of one vehicle, as far as HQ holds it. */
export interface StoredSegment {
  vehicle: string;
  segment: string;
  /** Wall ms of the segment's t = 0 (its header's start_wall). */
  start_wall: number;
  /** Wall ms of the last line HQ holds (start_wall + its t). */
  last_wall: number;
  /** Bytes of the file HQ holds (from 0, contiguous). */
  have: number;
  /** Sites named in it (the header's and `p` lines'). */
  sites: string[];
  /** HQ's clock when it stored the newest piece (retention counts from it). */
  received_at: number;
}

export interface SegmentFilter {
  vehicle?: string;
  /** Segments naming this site. */
  site?: string;
  /** Segments with a line at or after this wall ms. */
  sinceWall?: number;
  /** Segments started at or before this wall ms. */
  untilWall?: number;
}

/** A piece of a drive file, checked and decompressed (text: whole lines). */
export interface DrivePiece {
  vehicle: string;
  segment: string;
  offset: number;
  text: string;
  /** From checkDriveChunk: the header (a piece at offset 0), the last t, the sites. */
  start_wall: number | null;
  last_t: number | null;
  sites: string[];
  /** The piece brotli-compressed as it arrived: kept as is when all of it is new. */
  compressed?: Buffer;
}

export type AppendResult =
  /** HQ holds the file's first `have` bytes (`added`: bytes this piece added; 0 for a piece held already). */
  | { kind: 'ok'; have: number; added: number }
  /** The piece starts past what HQ holds (or the file's start was never received). */
  | { kind: 'gap'; have: number };

export interface DriveRepository {
  /** How many bytes of this file HQ holds (0: none). */
  have(vehicle: string, segment: string): Promise<number>;
  /**
   * Stores a piece at its offset, durably before it returns: the part past what is held is appended, the part held
   * already is dropped (a resend), a piece past the end is a gap. `receivedAt` is HQ's clock.
   */
  append(piece: DrivePiece, receivedAt: number): Promise<AppendResult>;
  /** Segments matching, oldest first. */
  segments(f: SegmentFilter): Promise<StoredSegment[]>;
  /** The text HQ holds of one segment (whole lines, from its header). */
  text(vehicle: string, segment: string): Promise<string>;
  /** Retention: removes segments whose newest piece HQ received before `beforeMs`; returns how many. */
  prune(beforeMs: number): Promise<number>;
  close(): Promise<void>;
}
