import { Injectable } from '@nestjs/common';
import type { ObjectId } from 'mongodb';
import { ResumableUploadDocuments } from './resumable-upload.documents.js';

export interface RemovedUploads {
  uploads: number;
  chunks: number;
}

/** The removals of many resumable uploads at once: a session's (erasure), the expired ones (cleanup). */
@Injectable()
export class ResumableUploadRemovals {
  constructor(private readonly documents: ResumableUploadDocuments) {}

  /** Every upload of the session, finished or not, held or not, with its chunks. */
  async removeOfSession(sessionId: ObjectId): Promise<RemovedUploads> {
    const result = { uploads: 0, chunks: 0 };
    for (const id of await this.documents.idsOfSession(sessionId)) {
      const removed = await this.documents.remove(id, { erasure: true });
      if (!removed) continue;
      result.uploads++;
      result.chunks += removed.chunks;
    }
    return result;
  }

  /**
   * The unfinished uploads that expired before `now` and that no request holds, with their chunks
   * (a held one is left for the next run); and the documents of complete ones that expired before
   * `finishedBefore` (null: none), by when no request that completed one can still be handing it to
   * the intake (@tus/server lets go of the upload before its onUploadFinish).
   */
  async removeExpired(now: Date, finishedBefore: Date | null, batchSize: number): Promise<RemovedUploads> {
    const result = { uploads: 0, chunks: 0 };
    let after: ObjectId | null = null;
    for (let rows; (rows = await this.documents.expired(now, batchSize, after)).length > 0; after = rows.at(-1)!._id) {
      for (const row of rows) {
        if (row.complete) {
          if (finishedBefore && row.expires_at < finishedBefore) {
            await this.documents.forgetFinished(row._id, finishedBefore);
          }
          continue;
        }
        const removed = await this.documents.remove(row._id, { expiredBefore: now, now });
        if (!removed) continue;
        result.uploads++;
        result.chunks += removed.chunks;
      }
    }
    return result;
  }
}
