// A vehicle's drive as HQ stored it, written back in the drive format (`roamlink drive export`, `site simulate`): every
// segment with a line in the window, whole from its header (lines are change-only), counted from the window's start.
import { joinDrive } from '../../shared/wire/drive.js';
import type { DriveRepository, StoredSegment } from '../store/drives/repository.js';

export interface ExportedDrive {
  text: string;
  segments: StoredSegment[];
}

/** The drive of `vehicle` over [sinceWall, untilWall] (wall ms), only its segments naming `site` when given, or null
 *  when HQ holds none of it. */
export async function exportDrive(repo: Pick<DriveRepository, 'segments' | 'text'>, vehicle: string, sinceWall: number, untilWall: number, site?: string): Promise<ExportedDrive | null> {
  const segments = (await repo.segments({ vehicle, sinceWall, untilWall, ...(site !== undefined ? { site } : {}) })).filter((s) => s.have > 0);
  if (segments.length === 0) return null;
  const origin = Math.max(sinceWall, segments[0]!.start_wall);
  return { text: joinDrive(await Promise.all(segments.map((s) => repo.text(s.vehicle, s.segment))), origin, untilWall, `${vehicle}'s drive`), segments };
}
