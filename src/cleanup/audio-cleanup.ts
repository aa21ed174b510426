import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectConnection } from '@nestjs/mongoose';
import { ObjectId } from 'mongodb';
import type { Connection, Types } from 'mongoose';
import { AnswerAudioStore, AUDIO_BUCKET } from '../audio/answer-audio.store.js';
import type { EnvironmentVariables } from '../config/environment.js';
import { JobLeases } from '../database/job-leases.js';
import type { SessionRecord } from '../sessions/session.schema.js';
import { SessionEraser } from '../sessions/session-eraser.js';
import { SessionStore } from '../sessions/session.store.js';

export interface CleanupReport {
  skipped: boolean;
  files_deleted: number;
  chunks_deleted: number;
  bytes_deleted: number;
  /** Files that no answer pointed to (left by a crash, a replaced upload, an erased session). */
  orphan_files: number;
  /** Groups of chunks whose files document was gone (an upload cut off by a crash). */
  orphan_chunk_groups: number;
  /** Failed answers past retention whose audio was deleted; they now record audio_expired_at. */
  expired_failed_answers: number;
  /** Old audio kept because a queued or processing answer still needs it. */
  kept_in_use: number;
  /** Erasures that a crash had interrupted, finished now. */
  erasures_resumed: number;
  /** Sessions older than SESSION_RETENTION_DAYS, erased now. */
  sessions_erased: number;
}

const LEASE_NAME = 'audio-cleanup';
const LEASE_MS = 30 * 60 * 1000;
const BATCH = 200;

interface FileRow {
  _id: ObjectId;
  length: number;
  metadata?: { session_id?: ObjectId; question_id?: string };
}

/**
 * Deletes GridFS audio that has outlived its purpose: older than AUDIO_RETENTION_HOURS and not
 * needed by a queued or processing answer. Safe to run again after dying half way, and only one
 * instance runs it at a time (a lease in MongoDB).
 */
@Injectable()
export class AudioCleanup {
  private readonly logger = new Logger(AudioCleanup.name);
  private readonly retentionMs: number;
  private readonly maxUploadMs: number;
  private readonly sessionRetentionMs?: number;

  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly sessions: SessionStore,
    private readonly audio: AnswerAudioStore,
    private readonly leases: JobLeases,
    private readonly eraser: SessionEraser,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.retentionMs = config.get('AUDIO_RETENTION_HOURS', { infer: true }) * 3_600_000;
    this.maxUploadMs = config.get('HTTP_REQUEST_TIMEOUT_MS', { infer: true });
    const days = config.get('SESSION_RETENTION_DAYS', { infer: true });
    this.sessionRetentionMs = days === undefined ? undefined : days * 86_400_000;
  }

  async run(now = new Date()): Promise<CleanupReport> {
    const report: CleanupReport = {
      skipped: false,
      files_deleted: 0,
      chunks_deleted: 0,
      bytes_deleted: 0,
      orphan_files: 0,
      orphan_chunk_groups: 0,
      expired_failed_answers: 0,
      kept_in_use: 0,
      erasures_resumed: 0,
      sessions_erased: 0,
    };
    const lease = await this.leases.acquire(LEASE_NAME, LEASE_MS);
    if (!lease) {
      this.logger.log('another instance is running the audio cleanup; skipping');
      return { ...report, skipped: true };
    }
    try {
      await this.eraseSessions(now, report);
      const cutoff = new Date(now.getTime() - this.retentionMs);
      await this.sweepOldFiles(cutoff, now, report);
      // Chunks without a files document belong to an upload still streaming in, or to one that
      // died. No upload outlives HTTP_REQUEST_TIMEOUT_MS (the request deadline closes it), so
      // chunk groups older than that, with a little slack for the last write, are garbage.
      await this.sweepOrphanChunks(new Date(now.getTime() - this.maxUploadMs - 5_000), report);
      this.logger.log(
        `audio cleanup: ${report.files_deleted} files, ${report.chunks_deleted} chunks, ${report.bytes_deleted} bytes deleted ` +
          `(${report.orphan_files} orphan files, ${report.orphan_chunk_groups} orphan chunk groups, ` +
          `${report.expired_failed_answers} expired failed answers, ${report.kept_in_use} kept in use); ` +
          `sessions: ${report.erasures_resumed} erasures resumed, ${report.sessions_erased} erased for retention`,
      );
      return report;
    } finally {
      await this.leases.release(lease).catch(() => undefined);
    }
  }

  /** Finishes erasures a crash interrupted, then erases sessions past SESSION_RETENTION_DAYS. */
  private async eraseSessions(now: Date, report: CleanupReport): Promise<void> {
    const count = (erased: { files: number; chunks: number }) => {
      report.files_deleted += erased.files;
      report.chunks_deleted += erased.chunks;
    };
    const seen = new Set<string>(); // a session that refuses to go is not tried again in this run
    const next = async (kind: 'interrupted' | 'expired', cutoff: Date) =>
      (await this.sessions.idsToErase(kind, cutoff, BATCH)).filter((id) => !seen.has(String(id)));
    for (let ids; (ids = await next('interrupted', now)).length > 0;) {
      for (const id of ids) {
        seen.add(String(id));
        count(await this.eraser.finish(id));
        report.erasures_resumed++;
      }
    }
    if (this.sessionRetentionMs === undefined) return;
    const cutoff = new Date(now.getTime() - this.sessionRetentionMs);
    for (let ids; (ids = await next('expired', cutoff)).length > 0;) {
      for (const id of ids) {
        seen.add(String(id));
        if (await this.sessions.markErasing(id, undefined, now)) {
          count(await this.eraser.finish(id));
          report.sessions_erased++;
        }
      }
    }
  }

  private db() {
    return this.connection.db!;
  }

  private async sweepOldFiles(cutoff: Date, now: Date, report: CleanupReport): Promise<void> {
    const cursor = this.db()
      .collection<FileRow>(`${AUDIO_BUCKET}.files`)
      .find({ uploadDate: { $lt: cutoff } }, { projection: { _id: 1, length: 1, metadata: 1 } })
      .batchSize(BATCH);
    let batch: FileRow[] = [];
    for await (const file of cursor) {
      batch.push(file);
      if (batch.length === BATCH) {
        await this.settleBatch(batch, now, report);
        batch = [];
      }
    }
    if (batch.length > 0) await this.settleBatch(batch, now, report);
  }

  private async settleBatch(files: FileRow[], now: Date, report: CleanupReport): Promise<void> {
    const sessionIds = [
      ...new Set(
        files
          .map((f) => f.metadata?.session_id)
          .filter(Boolean)
          .map(String),
      ),
    ];
    const sessions = new Map<string, SessionRecord>();
    if (sessionIds.length > 0) {
      for (const s of await this.sessions.findMany(
        sessionIds.map((id) => new ObjectId(id) as unknown as Types.ObjectId),
      )) {
        sessions.set(String(s._id), s);
      }
    }
    for (const file of files) {
      const session = file.metadata?.session_id ? sessions.get(String(file.metadata.session_id)) : undefined;
      const questionId = file.metadata?.question_id;
      const answer = session && questionId ? session.answers?.[questionId] : undefined;
      const fileId = file._id as unknown as Types.ObjectId;
      if (!answer || !answer.gridfs_file_id || String(answer.gridfs_file_id) !== String(file._id)) {
        report.orphan_files++;
        await this.deleteFile(file, report);
        continue;
      }
      if (answer.transcription_status === 'queued' || answer.transcription_status === 'processing') {
        report.kept_in_use++;
        continue;
      }
      // completed (a crash between writing the transcript and deleting the audio) or failed past
      // retention: the answer lets go of the file first, so it never points at deleted audio
      const released = await this.sessions.releaseAudio(
        session!._id,
        questionId!,
        fileId,
        answer.transcription_status,
        now,
      );
      if (!released) continue; // the answer changed meanwhile: look again next run
      if (answer.transcription_status === 'failed') report.expired_failed_answers++;
      await this.deleteFile(file, report);
    }
  }

  private async deleteFile(file: FileRow, report: CleanupReport): Promise<void> {
    const { files, chunks } = await this.audio.deleteCounting(file._id as unknown as Types.ObjectId);
    report.files_deleted += files;
    report.chunks_deleted += chunks;
    if (files > 0) report.bytes_deleted += file.length;
  }

  /** Chunks whose files document is gone, started before `cutoff` (younger ones may be live). */
  private async sweepOrphanChunks(cutoff: Date, report: CleanupReport): Promise<void> {
    const chunks = this.db().collection(`${AUDIO_BUCKET}.chunks`);
    const ids = (await chunks.distinct('files_id', {
      files_id: { $lt: ObjectId.createFromTime(Math.floor(cutoff.getTime() / 1000)) },
    })) as ObjectId[];
    for (let i = 0; i < ids.length; i += BATCH) {
      const slice = ids.slice(i, i + BATCH);
      const present = new Set(
        (
          await this.db()
            .collection(`${AUDIO_BUCKET}.files`)
            .find({ _id: { $in: slice } }, { projection: { _id: 1 } })
            .toArray()
        ).map((f) => String(f._id)),
      );
      for (const id of slice.filter((id) => !present.has(String(id)))) {
        let bytes = 0;
        for await (const chunk of chunks.find({ files_id: id }, { projection: { data: 1 } })) {
          bytes += (chunk.data as { length?: number; buffer?: Uint8Array })?.buffer?.length ?? 0;
        }
        const { deletedCount } = await chunks.deleteMany({ files_id: id });
        if (deletedCount > 0) {
          report.orphan_chunk_groups++;
          report.chunks_deleted += deletedCount;
          report.bytes_deleted += bytes;
        }
      }
    }
  }
}
