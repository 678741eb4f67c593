// The drives database's tables (drives.sqlite): segments (one per vehicle's drive file), their pieces (brotli, in byte
// order) and the sites each names. Its own file: high volume, its own retention (drive_retention_days).
export const DRIVES_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
CREATE TABLE drive_segments (
  vehicle     TEXT NOT NULL,
  segment     TEXT NOT NULL,
  start_wall  INTEGER NOT NULL,
  last_wall   INTEGER NOT NULL,
  have        INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (vehicle, segment)
);
CREATE INDEX drive_segments_received ON drive_segments(received_at);
CREATE TABLE drive_pieces (
  vehicle    TEXT NOT NULL,
  segment    TEXT NOT NULL,
  offset     INTEGER NOT NULL,
  size       INTEGER NOT NULL,
  data       BLOB NOT NULL,
  PRIMARY KEY (vehicle, segment, offset),
  FOREIGN KEY (vehicle, segment) REFERENCES drive_segments(vehicle, segment) ON DELETE CASCADE
);
CREATE TABLE drive_sites (
  vehicle TEXT NOT NULL,
  segment TEXT NOT NULL,
  site    TEXT NOT NULL,
  PRIMARY KEY (vehicle, segment, site),
  FOREIGN KEY (vehicle, segment) REFERENCES drive_segments(vehicle, segment) ON DELETE CASCADE
);
CREATE INDEX drive_sites_site ON drive_sites(site);
`,
  },
];
