import { ConflictException, Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { untilStored } from '../common/backoff.js';
import { PROBLEM_TYPES } from '../common/problem-details.js';
import type { Answer } from '../interview-record/answer.schema.js';
import { deliverySettings, scoringSettings, type DeliverySettings, type ScoringSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import { SessionChanges } from '../sessions/session-changes.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import { answerOf } from '../interview-record/answer-paths.js';
import { SessionWebhookRelay } from '../webhooks/session-webhook-relay.js';
import { transcriptionSummary } from '../sessions/session.view.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { AnalysisRepository } from './analysis.repository.js';
import type { AnalysisPendingView, AnalysisResultView } from './dto/analysis-views.dto.js';
import type { Analysis, ScoredAnswer, ScoringProvenance } from '../interview-record/analysis.schema.js';
import { INSTRUCTIONS_HASH, INSTRUCTIONS_VERSION } from './scoring-instructions.js';
import { boundAnalysisTexts } from './analysis-bounds.js';
import { analysisView } from './analysis.view.js';
import { AnswerScorer } from './answer-scorer.js';
import { AnswerScoring, liveScorings } from './answer-scoring.js';
import { answerDelivery, sessionDelivery, type DeliveryInput } from '../delivery/delivery.js';
import { rubricFor } from './default-rubric.js';

const SCORING_PARALLELISM = 4;

export interface AnalyzeOutcome {
  httpStatus: 200 | 202;
  retryAfter?: number;
  body: AnalysisResultView | AnalysisPendingView;
}

type Pending = Pick<ReturnType<typeof transcriptionSummary>, 'queued' | 'processing'>;

const isSettled = (session: SessionRecord) => {
  const { queued, processing } = transcriptionSummary(session);
  return queued + processing === 0;
};

/**
 * The analyze gate: scores a session only once every transcription has settled, exactly once
 * however many requests ask at the same moment, and returns the stored result ever after.
 */
@Injectable()
export class AnalysisService {
  private readonly logger = new Logger(AnalysisService.name);

  constructor(
    private readonly sessions: SessionsService,
    private readonly sessionRecords: SessionRepository,
    private readonly analyses: AnalysisRepository,
    private readonly changes: SessionChanges,
    private readonly scorer: AnswerScorer,
    private readonly answerScoring: AnswerScoring,
    private readonly webhooks: WebhookOutbox,
    private readonly relay: SessionWebhookRelay,
    private readonly clock: Clock,
    @Inject(scoringSettings.KEY) private readonly settings: ScoringSettings,
    @Inject(deliverySettings.KEY) private readonly delivery: DeliverySettings,
  ) {}

  /**
   * `rescore`: an analyzed session is scored again from its transcripts (with today's model,
   * instructions and rubric), the analysis it replaces kept as previous_analysis.
   */
  async analyze(
    userId: string,
    sessionId: string,
    waitSeconds: number,
    signal?: AbortSignal,
    rescore = false,
  ): Promise<AnalyzeOutcome> {
    // never past the connection's idle timeout: the caller gets a 202, not an empty reply
    const waitUntil = Date.now() + Math.min(waitSeconds * 1000, this.settings.maxWaitMs);
    let session = await this.sessions.getOwned(sessionId, userId);
    for (let round = 0; round < 10; round++) {
      if (session.status === 'analyzed' && session.analysis && !rescore) {
        return { httpStatus: 200, body: analysisView(session.analysis, session) };
      }
      if (!isSettled(session)) {
        if (Date.now() < waitUntil && !signal?.aborted) {
          session = await this.waitFor(session, (s) => isSettled(s) || s.status === 'analyzed', waitUntil, signal);
          continue;
        }
        return this.pending(transcriptionSummary(session));
      }
      if (
        session.status === 'analyzing' &&
        session.analysis_claim &&
        session.analysis_claim.until.getTime() > this.clock.nowMs()
      ) {
        // another request is scoring right now: its result is ours too, if it comes in time
        if (Date.now() >= waitUntil || signal?.aborted) return this.scoringElsewhere();
        session = await this.waitFor(session, (s) => s.status !== 'analyzing', waitUntil, signal);
        continue;
      }
      const failed = session.questions
        .map((q) => answerOf(session.answers, q.question_id))
        .filter((a) => a?.transcription_status === 'failed');
      if (failed.length > 0) {
        throw new ConflictException({
          type: PROBLEM_TYPES.transcriptionFailed,
          title: 'A transcription failed',
          message: `${failed.length} transcription(s) failed; upload those answers again or retry them with POST /api/transcription-retry/:sessionId/:questionId.`,
          failed: failed.map((a) => ({ question_id: a!.question_id, error: a!.transcription_error })),
        });
      }
      if (
        session.status === 'in_progress' &&
        liveScorings(session, this.clock.nowMs()) > 0 &&
        Date.now() < waitUntil &&
        !signal?.aborted
      ) {
        // answers are being scored right now (eagerly, maybe elsewhere): their results are ours. Past
        // the wait the session is claimed all the same, and scoring waits for those answers' results
        session = await this.waitFor(
          session,
          (s) => s.status !== 'in_progress' || liveScorings(s, this.clock.nowMs()) === 0,
          waitUntil,
          signal,
        );
        continue;
      }
      const claimId = randomUUID();
      const rescoring = session.status === 'analyzed';
      const claimed = await this.analyses.claim(
        session,
        { id: claimId, ...(rescoring ? { rescore: true } : {}) },
        this.settings.claimMs,
      );
      if (!claimed) {
        session = await this.sessions.getOwned(sessionId, userId); // something changed: look again
        continue;
      }
      // scored again once: should the claim be taken over, the taker's result is the rescore
      rescore = false;
      let analysis: Analysis;
      let saved: SessionRecord | null | undefined;
      // renewed while scoring and storing, so that slow scoring is never taken over and done twice
      const renewal = setInterval(() => {
        void this.analyses.renew(claimed._id, claimId, this.settings.claimMs).catch((error: Error) => {
          this.logger.warn(`could not renew the scoring claim on session=${sessionId}: ${error.message}`);
        });
      }, this.settings.claimMs / 5);
      try {
        try {
          analysis = await this.score(claimed, rescoring);
        } catch (error) {
          await this.analyses
            .release(
              claimed._id,
              claimId,
              claimed.analysis !== null && claimed.analysis !== undefined,
              this.clock.now(),
            )
            .catch(() => undefined);
          throw error;
        }
        saved = await this.store(claimed, claimId, analysis);
      } finally {
        clearInterval(renewal);
      }
      if (saved === undefined) {
        throw new ServiceUnavailableException('The scores could not be stored in time; ask again in a moment.');
      }
      if (saved) {
        await this.relay.relayAfterWrite(saved);
        this.logger.log(
          `${rescoring ? 'rescored' : 'analyzed'} session=${sessionId} final_score=${analysis.final_score} scored=${analysis.scored_count}`,
        );
        return { httpStatus: 200, body: analysisView(analysis, claimed) };
      }
      session = await this.sessions.getOwned(sessionId, userId);
    }
    throw new ServiceUnavailableException('The session kept changing while it was being analyzed; retry in a moment.');
  }

  /**
   * Stores the scores with their webhook event, tried again (untilStored) while the claim lasts: the
   * scorer's answers may be paid for, and a blip must not send every answer to it again. Null when
   * the claim was taken over; undefined when the database did not take the write in time.
   */
  private store(claimed: SessionRecord, claimId: string, analysis: Analysis) {
    const events = this.webhooks.sessionAnalyzed(claimed, analysis);
    return untilStored(
      // a rescore (or a takeover of a lapsed one) replaces the analysis the claim found
      () => this.analyses.save(claimed._id, claimId, analysis, claimed.analysis ?? null, events),
      AbortSignal.timeout(this.settings.claimMs),
      (error, attempt, delay) =>
        this.logger.warn(
          `could not store the scores of session=${String(claimed._id)} (try ${attempt}): ${error.message}; trying again in ${delay} ms`,
        ),
    );
  }

  private pending(pending: Pending): AnalyzeOutcome {
    const waiting = pending.queued + pending.processing;
    const retryAfter = Math.min(15, 2 + 2 * Math.ceil(pending.queued / this.settings.concurrency));
    return {
      httpStatus: 202,
      retryAfter,
      body: {
        status: 'transcription_pending',
        message: `Waiting for ${waiting} transcription${waiting === 1 ? '' : 's'} to complete`,
        pending_count: pending.queued,
        processing_count: pending.processing,
        retry_after: retryAfter,
      },
    };
  }

  private scoringElsewhere(): AnalyzeOutcome {
    const retryAfter = 2;
    return {
      httpStatus: 202,
      retryAfter,
      body: {
        status: 'scoring_in_progress',
        message: 'Another request is scoring this session right now; ask again shortly for its result.',
        pending_count: 0,
        processing_count: 0,
        retry_after: retryAfter,
      },
    };
  }

  /** Resolves with the session as soon as `done` holds for it, or as it is at `until`. */
  private async waitFor(
    session: SessionRecord,
    done: (session: SessionRecord) => boolean,
    until: number,
    signal?: AbortSignal,
  ): Promise<SessionRecord> {
    const sessionId = String(session._id);
    const read = () => this.sessionRecords.findOwned(session._id, session.user_id);
    const changed = await this.changes.waitFor(sessionId, done, until, read, signal);
    return changed ?? (await this.sessions.getOwned(sessionId, session.user_id));
  }

  /**
   * Every answer's score: stored ones reused (scored eagerly or by an earlier attempt), missing ones
   * made now under their own claim (answer-scoring.ts); `fresh` (a rescore) scores every answer again.
   */
  private async score(session: SessionRecord, fresh: boolean): Promise<Analysis> {
    const answers = new Array<ScoredAnswer>(session.questions.length);
    const threshold = this.delivery.pauseThresholdSeconds;
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < session.questions.length; i = next++) {
        const question = session.questions[i];
        const answer = answerOf<Answer & DeliveryInput>(session.answers, question.question_id);
        const delivery = answerDelivery(answer, threshold);
        const unscored = answer ? notScoredReason(answer) : null;
        if (!answer || unscored) {
          answers[i] = {
            question_id: question.question_id,
            score: 0,
            feedback: [answer ? 'No answer was heard.' : 'No answer was recorded for this question.'],
            unanswered: !answer,
            method: 'none',
            criteria: [],
            samples: 0,
            spread: null,
            needs_review: false,
            review_reasons: [],
            provenance: unscoredProvenance(this.clock.now()),
            not_scored_reason: unscored,
            no_speech: answer?.no_speech ?? false,
            suspect_hallucination: answer?.suspect_hallucination ?? false,
            delivery,
          };
          continue;
        }
        const request = {
          questionId: question.question_id,
          question: question.text,
          modelAnswer: question.model_answer,
          transcript: answer.transcript ?? '',
        };
        const scored =
          (fresh
            ? null
            : await this.answerScoring.ensure(session, question.question_id, Date.now() + this.settings.claimMs)) ??
          (await this.scorer.score(request, rubricFor(session, question)));
        answers[i] = {
          question_id: question.question_id,
          unanswered: false,
          not_scored_reason: null,
          delivery,
          ...scored,
        };
      }
    };
    await Promise.all(Array.from({ length: Math.min(SCORING_PARALLELISM, session.questions.length) }, worker));
    answers.splice(0, answers.length, ...boundAnalysisTexts(answers));
    const total = answers.reduce((sum, a) => sum + a.score, 0);
    return {
      final_score: Math.round((total / answers.length) * 10) / 10,
      scored_count: answers.filter((a) => !a.unanswered).length,
      answers,
      analyzed_at: this.clock.now(),
      delivery: sessionDelivery(
        answers.map((a) => a.delivery!),
        threshold,
      ),
    };
  }
}

/** An answer the scorer never saw: nothing to audit but when. */
function unscoredProvenance(now: Date): ScoringProvenance {
  return {
    method: 'none',
    model: null,
    instructions_version: INSTRUCTIONS_VERSION,
    instructions_hash: INSTRUCTIONS_HASH,
    rubric_hash: null,
    samples: 0,
    scored_at: now,
    chat_calls: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
  };
}

/** Why the speech guard's measurements keep an answer from the scorer: no speech at all, or a known silence hallucination. */
function notScoredReason(answer: DeliveryInput): 'no_speech' | 'suspect_hallucination' | null {
  if (answer.no_speech) return 'no_speech';
  if (answer.suspect_hallucination) return 'suspect_hallucination';
  return null;
}
