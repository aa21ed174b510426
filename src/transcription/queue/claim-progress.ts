import { Injectable } from '@nestjs/common';
import type { Types } from 'mongoose';
import { answerPath } from '../../answers/answer.repository.js';
import { SessionDocuments } from '../../sessions/session-documents.js';
import type { AnswerPiece } from './answer-queue-state.schema.js';
import type { TranscriptFields } from './completion-facts.js';
import { heldBy } from './transcription-queue.js';

/**
 * What the holder of a claim keeps on its answer while it works, before it settles it: how a large
 * recording is cut and each piece the provider answered, or the whole result. Each write is fenced
 * by the claim (heldBy) and safe to repeat, so that one the database refused can be tried again
 * instead of asking the provider again.
 */
@Injectable()
export class ClaimProgress {
  constructor(private readonly documents: SessionDocuments) {}

  /** Records how a recording too large to send whole is cut, while `claimId` holds the claim. */
  recordPieces(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    pieces: AnswerPiece[],
    progress: number,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    return this.documents.updateOne(sessionId, heldBy(questionId, claimId), {
      $set: { [`${a}.pieces`]: pieces, [`${a}.progress`]: progress },
      $inc: { rev: 1 },
    });
  }

  /**
   * Stores one transcribed piece and raises the answer's progress (never lowers it: pieces finish
   * in any order), while `claimId` holds the claim. The claim fences this: only its holder changes
   * the pieces, which it read after claiming.
   */
  recordPiece(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    index: number,
    piece: AnswerPiece,
    progress: number,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    return this.documents.updateOne(sessionId, heldBy(questionId, claimId), {
      $set: { [`${a}.pieces.${index}`]: piece },
      $max: { [`${a}.progress`]: progress },
      $inc: { rev: 1 },
    });
  }

  /**
   * Keeps the provider's result on the answer (still processing, its audio still there), while
   * `claimId` holds the claim. Returns the session after the write, or null when the claim is gone.
   */
  holdResult(sessionId: Types.ObjectId, questionId: string, claimId: string, result: TranscriptFields) {
    const { transcript: text, ...rest } = result;
    return this.documents.findOneAndUpdate(
      sessionId,
      heldBy(questionId, claimId),
      { $set: { [`${answerPath(questionId)}.held_result`]: { text, ...rest } } },
      'after',
    );
  }
}
