import { Injectable } from '@nestjs/common';
import type { Types } from 'mongoose';
import { questionIdField } from '../common/ids.js';
import { answerPath } from '../interview-record/answer-paths.js';
import type { AnswerScoreRecord } from '../interview-record/analysis.schema.js';
import { SessionDocuments } from '../interview-record/session-documents.js';
import type { SessionRecord } from '../interview-record/session.schema.js';

const scorePath = (questionId: string) => `answer_scores.${questionIdField(questionId)}`;

/** One answer version's scoring as its claim holds it: every write of the holder is fenced by both. */
export interface HeldScoring {
  questionId: string;
  answerId: string;
  claimId: string;
}

/**
 * The per-answer scores of an open session: the claim that lets one scorer (the eager scorer of any
 * instance, or analyze) pay for an answer version's scoring, and the stored result. Each change is one
 * conditional update through SessionDocuments (document locks where the server needs them).
 */
@Injectable()
export class AnswerScoresRepository {
  constructor(private readonly documents: SessionDocuments) {}

  /**
   * Takes the right to score the answer `answerId` to `questionId`: only while the session is open
   * (or being analyzed), the question holds that very answer, transcribed, and no score of it is
   * stored or being made under a live lease. The lease runs `leaseMs` from when the claim is
   * written. The session after the claim, or null.
   */
  claim(sessionId: Types.ObjectId, held: HeldScoring, leaseMs: number): Promise<SessionRecord | null> {
    const a = answerPath(held.questionId);
    const s = scorePath(held.questionId);
    return this.documents.findOneAndUpdateAt(
      sessionId,
      (now) => {
        const record: AnswerScoreRecord = {
          answer_id: held.answerId,
          status: 'scoring',
          claim_id: held.claimId,
          lease_until: new Date(now.getTime() + leaseMs),
          result: null,
        };
        return {
          filter: {
            status: { $in: ['in_progress', 'analyzing'] },
            [`${a}.id`]: held.answerId,
            [`${a}.transcription_status`]: 'completed',
            $or: [
              { [s]: { $exists: false } },
              { [s]: null },
              { [`${s}.answer_id`]: { $ne: held.answerId } },
              { [`${s}.status`]: 'scoring', [`${s}.lease_until`]: { $lt: now } },
            ],
          },
          update: { $set: { [s]: record } },
        };
      },
      'after',
    );
  }

  /** Extends a held claim to `leaseMs` from when the renewal is written; false when it is no longer held. */
  renew(sessionId: Types.ObjectId, held: HeldScoring, leaseMs: number): Promise<boolean> {
    const s = scorePath(held.questionId);
    return this.documents.updateOneAt(sessionId, (now) => ({
      filter: this.holding(held),
      update: { $set: { [`${s}.lease_until`]: new Date(now.getTime() + leaseMs) } },
    }));
  }

  /**
   * Stores the score while the claim holds and the answer is still that version; bumps rev, so that
   * an analyze waiting on another instance notices. The session after the write, or null.
   */
  store(sessionId: Types.ObjectId, held: HeldScoring, result: Record<string, unknown>): Promise<SessionRecord | null> {
    const s = scorePath(held.questionId);
    return this.documents.findOneAndUpdate(
      sessionId,
      { ...this.holding(held), [`${answerPath(held.questionId)}.id`]: held.answerId },
      {
        $set: {
          [`${s}.status`]: 'scored',
          [`${s}.result`]: result,
          [`${s}.claim_id`]: null,
          [`${s}.lease_until`]: null,
        },
        $inc: { rev: 1 },
      },
      'after',
    );
  }

  /** Lets go of a claim whose scoring failed, so that the next look (or analyze) can try again. */
  async release(sessionId: Types.ObjectId, held: HeldScoring): Promise<void> {
    await this.documents.updateOne(sessionId, this.holding(held), { $unset: { [scorePath(held.questionId)]: '' } });
  }

  private holding(held: HeldScoring) {
    const s = scorePath(held.questionId);
    return { [`${s}.status`]: 'scoring', [`${s}.claim_id`]: held.claimId, [`${s}.answer_id`]: held.answerId };
  }
}
