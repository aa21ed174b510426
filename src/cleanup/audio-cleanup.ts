import { Inject, Injectable, Logger } from '@nestjs/common';
import { QUESTION_ID_PATTERN } from '../common/ids.js';
import { toObjectId } from '../common/object-id.js';
import { AnswerRepository } from '../answers/answer.repository.js';
import { AnswerAudioStore, type StoredFileRow } from '../audio/answer-audio.store.js';
import { ResumableUploadDocuments } from '../audio/resumable-upload.documents.js';
import { ResumableUploadRemovals } from '../audio/resumable-upload.removals.js';
import { TranscriptsAheadDocuments } from '../audio/transcripts-ahead.documents.js';
import type { ObjectId } from 'mongodb';
import { cleanupSettings, type CleanupSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import { JobLeases } from '../database/job-leases.js';
import { answerFieldsProjection, answerOf } from '../interview-record/answer-paths.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { SessionRetention } from './session-retention.js';

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
  /** Unfinished resumable uploads past RESUMABLE_UPLOAD_EXPIRY_MS, removed with their chunks. */
  expired_uploads: number;
  /** Webhook deliveries of sessions that no longer exist (a relay died mid-erasure), deleted. */
  orphan_webhook_deliveries: number;
  /** Transcripts ahead (transcripts_ahead) whose upload and audio are both gone. */
  orphan_transcripts_ahead: number;
}

const LEASE_NAME = 'audio-cleanup';
/** A completed upload's intake (a few locked writes) ends within this once its request's deadline has passed. */
const INTAKE_MARGIN_MS = 5 * 60 * 1000;
const LEASE_MS = 30 * 60 * 1000;
const BATCH = 200;

/**
 * Deletes GridFS audio that has outlived its purpose: older than AUDIO_RETENTION_HOURS and not
 * needed by a queued or processing answer. Safe to run again after dying half way, and only one
 * instance runs it at a time (a lease in MongoDB).
 */
@Injectable()
export class AudioCleanup {
  private readonly logger = new Logger(AudioCleanup.name);
  constructor(
    private readonly sessions: SessionRepository,
    private readonly answers: AnswerRepository,
    private readonly audio: AnswerAudioStore,
    private readonly resumable: ResumableUploadDocuments,
    private readonly removals: ResumableUploadRemovals,
    private readonly ahead: TranscriptsAheadDocuments,
    private readonly leases: JobLeases,
    private readonly retention: SessionRetention,
    private readonly clock: Clock,
    @Inject(cleanupSettings.KEY) private readonly settings: CleanupSettings,
  ) {}

  async run(now = this.clock.now()): Promise<CleanupReport> {
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
      expired_uploads: 0,
      orphan_webhook_deliveries: 0,
      orphan_transcripts_ahead: 0,
    };
    const lease = await this.leases.acquire(LEASE_NAME, LEASE_MS);
    if (!lease) {
      this.logger.log('another instance is running the audio cleanup; skipping');
      return { ...report, skipped: true };
    }
    try {
      const erased = await this.retention.eraseSessions(now);
      report.files_deleted += erased.files;
      report.chunks_deleted += erased.chunks;
      report.erasures_resumed += erased.resumed;
      report.sessions_erased += erased.expired;
      report.orphan_webhook_deliveries += erased.orphanDeliveries;
      const cutoff = new Date(now.getTime() - this.settings.audioRetentionMs);
      await this.sweepOldFiles(cutoff, now, report);
      // Chunks without a files document belong to an upload still streaming in, or to one that
      // died. No upload outlives HTTP_REQUEST_TIMEOUT_MS (the request deadline closes it), so
      // chunk groups older than that, with a little slack for the last write, are garbage.
      await this.sweepExpiredUploads(now, report);
      await this.sweepOrphanChunks(new Date(now.getTime() - this.settings.maxUploadMs - 5_000), report);
      await this.sweepOrphanTranscriptsAhead(report);
      this.logger.log(
        `audio cleanup: ${report.files_deleted} files, ${report.chunks_deleted} chunks, ${report.bytes_deleted} bytes deleted ` +
          `(${report.orphan_files} orphan files, ${report.orphan_chunk_groups} orphan chunk groups, ` +
          `${report.expired_failed_answers} expired failed answers, ${report.kept_in_use} kept in use); ` +
          `sessions: ${report.erasures_resumed} erasures resumed, ${report.sessions_erased} erased for retention; ` +
          `${report.expired_uploads} expired resumable uploads removed; ` +
          `${report.orphan_webhook_deliveries} webhook deliveries of gone sessions deleted; ` +
          `${report.orphan_transcripts_ahead} transcripts ahead of gone uploads deleted`,
      );
      return report;
    } finally {
      await this.leases.release(lease).catch(() => undefined);
    }
  }

  private async sweepOldFiles(cutoff: Date, now: Date, report: CleanupReport): Promise<void> {
    let batch: StoredFileRow[] = [];
    for await (const file of this.audio.filesUploadedBefore(cutoff, BATCH)) {
      batch.push(file);
      if (batch.length === BATCH) {
        await this.settleBatch(batch, now, report);
        batch = [];
      }
    }
    if (batch.length > 0) await this.settleBatch(batch, now, report);
  }

  private async settleBatch(files: StoredFileRow[], now: Date, report: CleanupReport): Promise<void> {
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
      // only the two fields of each file's answer that decide its fate, never transcripts
      const questionIds = files
        .map((f) => f.metadata?.question_id)
        .filter((q): q is string => !!q && QUESTION_ID_PATTERN.test(q));
      const projection: Record<string, 1> = {
        _id: 1,
        ...answerFieldsProjection(new Set(questionIds), ['gridfs_file_id', 'transcription_status']),
      };
      for (const s of await this.sessions.findMany(sessionIds.map(toObjectId), projection)) {
        sessions.set(String(s._id), s);
      }
    }
    for (const file of files) {
      const session = file.metadata?.session_id ? sessions.get(String(file.metadata.session_id)) : undefined;
      const questionId = file.metadata?.question_id;
      const answer = session && questionId ? answerOf(session.answers, questionId) : undefined;
      const fileId = file._id;
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
      const released = await this.answers.releaseAudio(
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

  private async deleteFile(file: StoredFileRow, report: CleanupReport): Promise<void> {
    const { files, chunks } = await this.audio.deleteCounting(file._id);
    report.files_deleted += files;
    report.chunks_deleted += chunks;
    if (files > 0) report.bytes_deleted += file.length;
  }

  /**
   * Expired resumable uploads: an unfinished one goes with its chunks unless a request holds it (a
   * PATCH begun before the expiry); a complete one's document goes once no request can still be
   * completing it (its chunks are a file). Each removal is conditional, under the upload's lock.
   */
  private async sweepExpiredUploads(now: Date, report: CleanupReport): Promise<void> {
    const finishedBefore = new Date(now.getTime() - this.settings.maxUploadMs - INTAKE_MARGIN_MS);
    const removed = await this.removals.removeExpired(now, finishedBefore, BATCH);
    report.expired_uploads += removed.uploads;
    report.chunks_deleted += removed.chunks;
  }

  /**
   * What was transcribed of uploads while they grew, once both the upload and its audio are gone
   * (an answer transcribed removes it itself; this catches a crash before that, and an erasure
   * racing a look). Read in the order their writers go: the document, then the upload (forgotten
   * only after its files document is written), then the files document.
   */
  private async sweepOrphanTranscriptsAhead(report: CleanupReport): Promise<void> {
    let after: ObjectId | null = null;
    for (;;) {
      const ids = await this.ahead.ids(BATCH, after);
      if (ids.length === 0) return;
      after = ids.at(-1)!;
      const uploading = await this.resumable.knownIds(ids);
      const stored = await this.audio.existingFileIds(ids.filter((id) => !uploading.has(id.toHexString())));
      for (const id of ids) {
        if (uploading.has(id.toHexString()) || stored.has(id.toHexString())) continue;
        await this.ahead.remove(id);
        report.orphan_transcripts_ahead++;
      }
    }
  }

  /**
   * Chunks whose files document is gone, started before `cutoff` (younger ones may be live). The
   * reads go in the order opposite to a tus completion's writes, which writes the files document
   * while the upload's document exists and drops that only afterwards: chunks without a files
   * document (a first look), then the upload documents, then the files document again right before
   * each delete. A completion between any two of them leaves one of the two documents to be seen.
   */
  private async sweepOrphanChunks(cutoff: Date, report: CleanupReport): Promise<void> {
    const candidates = await this.audio.orphanChunkGroups(cutoff, BATCH);
    // chunks of a resumable upload still in progress have no files document yet, by design
    const inProgress = await this.resumable.knownIds(candidates);
    for (const id of candidates.filter((o) => !inProgress.has(o.toHexString()))) {
      const { chunks, bytes } = await this.audio.deleteChunkGroup(id);
      if (chunks > 0) {
        report.orphan_chunk_groups++;
        report.chunks_deleted += chunks;
        report.bytes_deleted += bytes;
      }
    }
  }
}
