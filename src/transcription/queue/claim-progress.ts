import { Injectable } from '@nestjs/common';
import type { Types } from 'mongoose';
import * as plans from '../../interview-record/answer-plans.js';
import type { AnswerPiece } from '../../interview-record/answer-queue-state.schema.js';
import type { TranscriptFields } from '../../interview-record/answer.schema.js';
import { SessionDocuments } from '../../interview-record/session-documents.js';

/**
 * What the holder of a claim keeps on its answer while it works, before it settles it: how a large
 * recording is cut and each piece the provider answered, or the whole result. Each write is fenced
 * by the claim and safe to repeat, so that one the database refused can be tried again instead of
 * asking the provider again.
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
    const { filter, update } = plans.recordPieces({ questionId, claimId }, pieces, progress);
    return this.documents.updateOne(sessionId, filter, update);
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
    const { filter, update } = plans.recordPiece({ questionId, claimId }, index, piece, progress);
    return this.documents.updateOne(sessionId, filter, update);
  }

  /**
   * Keeps the provider's result on the answer (still processing, its audio still there), while
   * `claimId` holds the claim. Returns the session after the write, or null when the claim is gone.
   */
  holdResult(sessionId: Types.ObjectId, questionId: string, claimId: string, result: TranscriptFields) {
    const { filter, update } = plans.holdResult({ questionId, claimId }, result);
    return this.documents.findOneAndUpdate(sessionId, filter, update, 'after');
  }
}
