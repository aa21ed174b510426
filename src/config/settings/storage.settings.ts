import { type ConfigType, registerAs } from '@nestjs/config';
import { readEnvironment } from '../read-environment.js';
import { IntegerSetting } from '../setting-rules.js';

/** Where uploaded audio waits for its transcription: GridFS, and resumable (tus) uploads. */
export class StorageEnvironment {
  @IntegerSetting(1024, 16 * 1024 ** 3, 'MAX_UPLOAD_BYTES must be an integer from 1024 to 17179869184 (16 GiB)')
  MAX_UPLOAD_BYTES = 1024 ** 3;

  @IntegerSetting(16 * 1024, 8 * 1024 * 1024)
  GRIDFS_CHUNK_SIZE_BYTES = 255 * 1024;

  /**
   * Chunk inserts one multipart upload keeps in flight at once (bench/NOTES.md: 4 was fastest for one
   * upload, chosen by measurement). It was 1 for a while, blamed for two pool timeouts in the load
   * test; but that test's answers are 16 KB, one chunk each, which no window above 1 touches.
   */
  @IntegerSetting(1, 64)
  GRIDFS_WRITE_WINDOW_CHUNKS = 4;

  /**
   * Uploads one instance takes in at once (multipart POSTs and tus PATCHes); the others wait their
   * turn, their bodies unread. Every upload's database commands share the driver's pool, first come
   * first served, so without a bound a burst of uploads puts the transcription worker's commands
   * behind all of theirs (docs/reliability.md, the load test).
   */
  @IntegerSetting(1, 10_000)
  UPLOAD_INTAKE_CONCURRENCY = 16;

  /**
   * How long an upload's turn lasts: one still running after it goes on outside the bound, so that a
   * few slow uplinks cannot hold every turn for minutes (a burst's short uploads each finish well
   * inside theirs).
   */
  @IntegerSetting(100, 600_000)
  UPLOAD_INTAKE_TURN_MS = 2_000;

  /** An unfinished resumable (tus) upload expires this long after it was created. */
  @IntegerSetting(1_000, 30 * 86_400_000)
  RESUMABLE_UPLOAD_EXPIRY_MS = 86_400_000;

  /** A writer that stops renewing its hold on a resumable upload (a crash) lets go after this long. */
  @IntegerSetting(1_000, 600_000)
  RESUMABLE_UPLOAD_LEASE_MS = 15_000;
}

export const storageSettings = registerAs('storage', () => {
  const e = readEnvironment([StorageEnvironment]);
  return {
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    chunkSizeBytes: e.GRIDFS_CHUNK_SIZE_BYTES,
    writeWindowChunks: e.GRIDFS_WRITE_WINDOW_CHUNKS,
    intakeConcurrency: e.UPLOAD_INTAKE_CONCURRENCY,
    intakeTurnMs: e.UPLOAD_INTAKE_TURN_MS,
    resumableExpiryMs: e.RESUMABLE_UPLOAD_EXPIRY_MS,
    resumableLeaseMs: e.RESUMABLE_UPLOAD_LEASE_MS,
  };
});

export type StorageSettings = ConfigType<typeof storageSettings>;
