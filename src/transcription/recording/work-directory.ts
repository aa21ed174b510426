import { Logger } from '@nestjs/common';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every temporary directory of a transcription job is named `<prefix><pid>-<random>`. */
export const WORK_DIR_PREFIX = 'voice-interview-transcribe-';

const logger = new Logger('TranscriptionWorkDirectory');

/** A private directory in the OS temp directory for one job's files; the job removes it when done. */
export function createWorkDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), `${WORK_DIR_PREFIX}${process.pid}-`));
}

export async function removeWorkDirectory(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch((error: Error) =>
    logger.warn(`could not remove temporary directory ${dir}: ${error.message}`),
  );
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what crashed jobs left behind: directories of processes that are gone, and, since this
 * runs before this process starts any job, directories carrying this process's own pid (a restarted
 * container reuses its pid). Directories of other live processes on the host are theirs.
 */
export async function sweepWorkDirectories(): Promise<number> {
  let names: string[];
  try {
    names = await readdir(tmpdir());
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = Number(new RegExp(`^${WORK_DIR_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!pid || (pid !== process.pid && isRunning(pid))) continue;
    await removeWorkDirectory(join(tmpdir(), name));
    removed++;
  }
  if (removed > 0)
    logger.log(`removed ${removed} temporary director${removed === 1 ? 'y' : 'ies'} left by earlier runs`);
  return removed;
}
