import { Injectable, Logger } from '@nestjs/common';
import type { ObjectId } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  sameStretch as same,
  TranscriptsAheadDocuments,
  type Stretch,
} from '../../audio/transcripts-ahead.documents.js';
import { Clock } from '../../database/clock.js';
import type { AnswerPiece } from '../../interview-record/answer-queue-state.schema.js';
import type { TranscriptionTask } from '../recording/transcription-task.js';
import type { PiecesAhead } from '../transcribers/large-recording.transcriber.js';

/** How often the answer's transcription looks whether the piece being sent ahead has arrived. */
const WAIT_STEP_MS = 100;

/**
 * Where the transcription of an answer uploaded resumably takes over what was transcribed while it
 * was uploaded (GrowingUploadTranscriber): the pieces, and the one still with the provider, which
 * it waits for as long as its sender holds the document. The pieces live on in the answer (its
 * `pieces`) until it completes; the document is removed once the answer is transcribed.
 */
@Injectable()
export class AheadHandover {
  private readonly logger = new Logger('TranscriptionWorker');

  constructor(
    private readonly documents: TranscriptsAheadDocuments,
    private readonly clock: Clock,
  ) {}

  /** What was sent ahead for this answer's recording; null when nothing was (or it cannot be read). */
  async of(task: TranscriptionTask): Promise<PiecesAhead | null> {
    if (!task.answer.audio.resumable) return null;
    const doc = await this.documents.get(task.fileId).catch((error: Error) => {
      this.logger.warn(
        `${String(task.sessionId)}/${task.questionId}: could not read what was transcribed ahead (${error.message}); transcribing all of it`,
      );
      return null;
    });
    const working = doc?.working && doc.held_until && doc.held_until > this.clock.now() ? doc.working : null;
    if (!doc || (doc.pieces.length === 0 && !working)) return null;
    return {
      pieces: doc.pieces,
      working,
      awaitWorking: (signal) => (working ? this.awaitWorking(task.fileId, working, signal) : Promise.resolve(null)),
    };
  }

  /** The answer is transcribed: what was sent ahead is in it now. */
  async forget(task: TranscriptionTask): Promise<void> {
    if (!task.answer.audio.resumable) return;
    await this.documents.remove(task.fileId).catch((error: Error) => {
      this.logger.warn(
        `${String(task.sessionId)}/${task.questionId}: what was transcribed ahead stays until the cleanup: ${error.message}`,
      );
    });
  }

  /** The piece's transcript once its sender stores it; null once it stopped without one. */
  private async awaitWorking(id: ObjectId, stretch: Stretch, signal: AbortSignal): Promise<AnswerPiece | null> {
    for (;;) {
      await sleep(WAIT_STEP_MS, undefined, { signal });
      const doc = await this.documents.get(id);
      const piece = doc?.pieces.find((p) => same(p, stretch));
      if (piece) return piece;
      const sending = doc?.working && same(doc.working, stretch) && doc.held_until && doc.held_until > this.clock.now();
      if (!sending) return null;
    }
  }
}
