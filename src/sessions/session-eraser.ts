import { Injectable, Logger } from '@nestjs/common';
import type { Types } from 'mongoose';
import { AnswerAudioStore } from '../audio/answer-audio.store.js';
import { ResumableUploadRemovals } from '../audio/resumable-upload.removals.js';
import { TranscriptsAheadDocuments } from '../audio/transcripts-ahead.documents.js';
import { Clock } from '../database/clock.js';
import { WebhookDeliveryStore } from '../webhooks/webhook-delivery.store.js';
import { SessionRepository } from './session.repository.js';

export interface ErasureResult {
  files: number;
  chunks: number;
  /** Resumable (tus) uploads of the session, finished or not, removed with their chunks. */
  uploads: number;
}

/**
 * Erases a session and every byte of its audio, in steps that can be repeated after a crash:
 * (1) mark it erasing, which hides it and stops its jobs from claiming or writing anything,
 * (2) delete its resumable uploads (their documents, then their chunks), its GridFS files and chunks,
 * its webhook deliveries and what was transcribed of its uploads while they grew, (3) delete the document, (4) sweep the uploads, files and deliveries
 * once more: a job, upload or relay that read the session before step 1 and wrote after step 2
 * leaves nothing behind (writers check the mark too; this catches what was already in flight).
 * Uploads go before files: a tus PATCH in flight writes its files document only while its upload's
 * document exists, so once that is removed the files sweep after it finds whatever it wrote. The
 * cleanup job finishes any erasure that a crash interrupted.
 */
@Injectable()
export class SessionEraser {
  private readonly logger = new Logger(SessionEraser.name);

  constructor(
    private readonly sessions: SessionRepository,
    private readonly audio: AnswerAudioStore,
    private readonly uploads: ResumableUploadRemovals,
    private readonly webhooks: WebhookDeliveryStore,
    private readonly ahead: TranscriptsAheadDocuments,
    private readonly clock: Clock,
  ) {}

  /** False when the session does not exist (or belongs to someone else). */
  async erase(sessionId: Types.ObjectId, userId?: string): Promise<boolean> {
    const marked = await this.sessions.markErasing(sessionId, userId, this.clock.now());
    if (!marked) return false;
    await this.finish(sessionId);
    return true;
  }

  /** Steps 2 and 3 for a session already marked erasing. */
  async finish(sessionId: Types.ObjectId): Promise<ErasureResult> {
    const result = { files: 0, chunks: 0, uploads: 0 };
    const sweep = async () => {
      const removed = await this.uploads.removeOfSession(sessionId);
      result.uploads += removed.uploads;
      result.chunks += removed.chunks;
      for (const fileId of await this.audio.fileIdsOfSession(sessionId)) {
        const deleted = await this.audio.deleteCounting(fileId);
        result.files += deleted.files;
        result.chunks += deleted.chunks;
      }
      await this.webhooks.deleteForSession(sessionId);
      await this.ahead.removeOfSession(sessionId);
    };
    await sweep();
    await this.sessions.deleteErasing(sessionId);
    await sweep();
    this.logger.log(
      `erased session=${String(sessionId)} (${result.files} audio files, ${result.uploads} resumable uploads, ${result.chunks} chunks)`,
    );
    return result;
  }

  /**
   * Deletes webhook deliveries whose session no longer exists: a relay that died between storing a
   * session's events and seeing it erased left them (SessionWebhookRelay undoes its own store
   * otherwise). Returns how many were deleted.
   */
  async sweepOrphanDeliveries(batch = 500): Promise<number> {
    let deleted = 0;
    let after: Types.ObjectId | null = null;
    for (let ids; (ids = await this.webhooks.sessionIdsAfter(after, batch)).length > 0; after = ids.at(-1)!) {
      const existing = await this.sessions.existing(ids);
      for (const id of ids) if (!existing.has(String(id))) deleted += await this.webhooks.deleteForSession(id);
    }
    if (deleted > 0) this.logger.log(`deleted ${deleted} webhook deliveries of sessions that no longer exist`);
    return deleted;
  }
}
