import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { scoringSettings, type ScoringSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import { answerOf } from '../interview-record/answer-paths.js';
import type { Answer } from '../interview-record/answer.schema.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import { SessionChanges } from '../sessions/session-changes.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { boundScoreTexts } from './analysis-bounds.js';
import { AnswerScorer, type AnswerScore } from './answer-scorer.js';
import { AnswerScoresRepository, type HeldScoring } from './answer-scores.repository.js';
import { rubricFor } from './default-rubric.js';

/** An answer the scorer judges: transcribed, and with speech that is the candidate's own. */
export function scorable(answer: Answer | undefined): answer is Answer {
  return (
    answer !== undefined &&
    answer.transcription_status === 'completed' &&
    !answer.no_speech &&
    !answer.suspect_hallucination
  );
}

/** The stored score of the answer to `questionId` as the session holds it now, or null. */
export function storedScore(session: SessionRecord, questionId: string): AnswerScore | null {
  const answer = answerOf(session.answers, questionId);
  const record = answerOf(session.answer_scores ?? undefined, questionId);
  if (!answer || record?.answer_id !== answer.id || record.status !== 'scored' || !record.result) return null;
  return record.result as unknown as AnswerScore;
}

/** How many answers of the session some scorer is scoring right now, under a live lease. */
export function liveScorings(session: SessionRecord, nowMs: number): number {
  return session.questions.filter((q) => {
    const answer = answerOf(session.answers, q.question_id);
    const record = answerOf(session.answer_scores ?? undefined, q.question_id);
    return (
      answer !== undefined &&
      record?.answer_id === answer.id &&
      record.status === 'scoring' &&
      record.lease_until !== null &&
      record.lease_until.getTime() > nowMs
    );
  }).length;
}

/**
 * Scores one answer version exactly once, whoever asks (the eager scorer on any instance, or analyze):
 * the scorer claims the answer under a lease it renews, scores, and stores the result fenced by the
 * claim and the answer's id. A holder that crashed lets its lease lapse; the next one scores again.
 */
@Injectable()
export class AnswerScoring {
  private readonly logger = new Logger(AnswerScoring.name);

  constructor(
    private readonly scores: AnswerScoresRepository,
    private readonly scorer: AnswerScorer,
    private readonly sessions: SessionRepository,
    private readonly changes: SessionChanges,
    private readonly clock: Clock,
    @Inject(scoringSettings.KEY) private readonly settings: ScoringSettings,
  ) {}

  /**
   * The score of the answer to `questionId` as `session` holds it: the stored one, or one made now.
   * While another holder's lease is live, waits for its result until `waitUntil` (ms; none: no
   * wait). Null when the answer is not scorable (any more), or the wait ran out.
   */
  async ensure(session: SessionRecord, questionId: string, waitUntil?: number): Promise<AnswerScore | null> {
    for (let round = 0; round < 20; round++) {
      const answer = answerOf(session.answers, questionId);
      const question = session.questions.find((q) => q.question_id === questionId);
      if (!question || !scorable(answer)) return null;
      const stored = storedScore(session, questionId);
      if (stored) return stored;
      const record = answerOf(session.answer_scores ?? undefined, questionId);
      const now = this.clock.now();
      if (record?.answer_id === answer.id && record.status === 'scoring' && record.lease_until! > now) {
        if (waitUntil === undefined || Date.now() >= waitUntil) return null;
        const lapse = Date.now() + (record.lease_until!.getTime() - now.getTime()) + 50;
        session = await this.waitFor(
          session,
          (s) => answerOf(s.answer_scores ?? undefined, questionId)?.status !== 'scoring',
          Math.min(waitUntil, lapse),
        );
        continue;
      }
      const held: HeldScoring = { questionId, answerId: answer.id, claimId: randomUUID() };
      const claimed = await this.scores
        .claim(session._id, held, this.settings.claimMs)
        .catch((error: Error) => this.readBack(session, held, error));
      if (!claimed) {
        const [fresh] = await this.sessions.findMany([session._id]);
        if (!fresh) return null;
        session = fresh;
        continue;
      }
      return this.scoreHeld(claimed, held);
    }
    return null;
  }

  /**
   * A claim write that failed may still have been applied: the session says. Held, the scoring goes
   * on (rather than leave a claim nobody works until its lease lapses); otherwise the error stands.
   */
  private async readBack(session: SessionRecord, held: HeldScoring, error: Error): Promise<SessionRecord> {
    const [fresh] = await this.sessions.findMany([session._id]).catch(() => [] as SessionRecord[]);
    const record = fresh ? answerOf(fresh.answer_scores ?? undefined, held.questionId) : undefined;
    if (!fresh || record?.status !== 'scoring' || record.claim_id !== held.claimId) throw error;
    this.logger.warn(
      `the scoring claim on question=${held.questionId} answered ${error.message}, but it is held: going on`,
    );
    return fresh;
  }

  private async scoreHeld(session: SessionRecord, held: HeldScoring): Promise<AnswerScore> {
    const question = session.questions.find((q) => q.question_id === held.questionId)!;
    const answer = answerOf(session.answers, held.questionId)!;
    const renewal = setInterval(() => {
      void this.scores.renew(session._id, held, this.settings.claimMs).catch((error: Error) => {
        this.logger.warn(`could not renew the scoring claim on question=${held.questionId}: ${error.message}`);
      });
    }, this.settings.claimMs / 5);
    let score: AnswerScore;
    try {
      score = await this.scorer.score(
        {
          questionId: question.question_id,
          question: question.text,
          modelAnswer: question.model_answer,
          transcript: answer.transcript ?? '',
        },
        rubricFor(session, question),
      );
    } catch (error) {
      clearInterval(renewal);
      await this.scores.release(session._id, held).catch(() => undefined);
      throw error;
    }
    clearInterval(renewal);
    const bounded = boundScoreTexts(score, session.questions.length);
    const stored = await this.scores
      .store(session._id, held, bounded as unknown as Record<string, unknown>)
      .catch((error: Error) => {
        this.logger.warn(`could not store the score of question=${held.questionId}: ${error.message}`);
        return null;
      });
    if (!stored) {
      this.logger.log(
        `the score of question=${held.questionId} was not stored: the answer changed or the claim lapsed`,
      );
    }
    return bounded;
  }

  /** Resolves with the session as soon as `done` holds for it, or as it is at `until`. */
  private async waitFor(
    session: SessionRecord,
    done: (session: SessionRecord) => boolean,
    until: number,
  ): Promise<SessionRecord> {
    const read = async () => (await this.sessions.findMany([session._id]))[0] ?? null;
    const changed = await this.changes.waitFor(String(session._id), done, until, read);
    return changed ?? (await read()) ?? session;
  }
}
