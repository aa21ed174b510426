import { ConflictException, Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PROBLEM_TYPES } from '../common/problem-details.js';
import { scoringSettings, type ScoringSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import { SessionChanges } from '../sessions/session-changes.js';
import type { SessionRecord } from '../sessions/session.schema.js';
import { transcriptionSummary } from '../sessions/session.view.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { AnalysisRepository } from './analysis.repository.js';
import type { AnalysisPendingView, AnalysisResultView } from './dto/analysis-views.dto.js';
import type { Analysis, ScoredAnswer } from './analysis.schema.js';
import { AnswerScorer } from './answer-scorer.js';

/** How long one request may hold the right to score a session before another may take over. */
const ANALYSIS_CLAIM_MS = 5 * 60 * 1000;
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

export function analysisView(analysis: Analysis): AnalysisResultView {
  return {
    status: 'success',
    final_score: analysis.final_score,
    scored_count: analysis.scored_count,
    answers: analysis.answers.map((a) => ({
      question_id: a.question_id,
      score: a.score,
      feedback: a.feedback,
      model_answer: a.model_answer,
      transcript: a.transcript,
      ...(a.unanswered ? { unanswered: true } : {}),
      ...(a.no_speech ? { no_speech: true } : {}),
      ...(a.suspect_hallucination ? { suspect_hallucination: true } : {}),
      scoring_method: a.method,
    })),
    unanswered: analysis.answers.filter((a) => a.unanswered).map((a) => a.question_id),
    analyzed_at: analysis.analyzed_at.toISOString(),
  };
}

/** The sentence an answer without speech is scored 0 with. */
export const NO_ANSWER_HEARD = 'No answer was heard';

/**
 * An answer whose recording held no speech, or whose transcript is a known silence hallucination:
 * nothing of the candidate's to score, so 0 without asking the scorer.
 */
function unheard(
  questionId: string,
  modelAnswer: string,
  transcript: string,
  answer: { no_speech?: boolean; suspect_hallucination?: boolean },
): ScoredAnswer {
  return {
    question_id: questionId,
    score: 0,
    feedback: answer.no_speech
      ? [`${NO_ANSWER_HEARD}.`]
      : [
          `${NO_ANSWER_HEARD}: the recording held almost no speech and its transcript is what speech recognition writes for silence.`,
        ],
    model_answer: modelAnswer,
    transcript,
    unanswered: false,
    no_speech: answer.no_speech ?? false,
    suspect_hallucination: answer.suspect_hallucination ?? false,
    method: 'none',
  };
}

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
    private readonly webhooks: WebhookOutbox,
    private readonly clock: Clock,
    @Inject(scoringSettings.KEY) private readonly settings: ScoringSettings,
  ) {}

  async analyze(userId: string, sessionId: string, waitSeconds: number, signal?: AbortSignal): Promise<AnalyzeOutcome> {
    const waitUntil = Date.now() + waitSeconds * 1000;
    let session = await this.sessions.getOwned(sessionId, userId);
    for (let round = 0; round < 10; round++) {
      if (session.status === 'analyzed' && session.analysis) {
        return { httpStatus: 200, body: analysisView(session.analysis) };
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
        // another request is scoring right now: its result is ours too
        session = await this.waitFor(
          session,
          (s) => s.status !== 'analyzing',
          Math.max(session.analysis_claim.until.getTime(), waitUntil),
          signal,
        );
        continue;
      }
      const failed = session.questions
        .map((q) => session.answers?.[q.question_id])
        .filter((a) => a?.transcription_status === 'failed');
      if (failed.length > 0) {
        throw new ConflictException({
          type: PROBLEM_TYPES.transcriptionFailed,
          title: 'A transcription failed',
          message: `${failed.length} transcription(s) failed; upload those answers again or retry them with POST /api/transcription-retry/:sessionId/:questionId.`,
          failed: failed.map((a) => ({ question_id: a!.question_id, error: a!.transcription_error })),
        });
      }
      const claimId = randomUUID();
      const now = this.clock.now();
      const claimed = await this.analyses.claim(
        session,
        { id: claimId, until: new Date(now.getTime() + ANALYSIS_CLAIM_MS) },
        now,
      );
      if (!claimed) {
        session = await this.sessions.getOwned(sessionId, userId); // something changed: look again
        continue;
      }
      let analysis: Analysis;
      try {
        analysis = await this.score(claimed);
      } catch (error) {
        await this.analyses.release(claimed._id, claimId, this.clock.now()).catch(() => undefined);
        throw error;
      }
      if (await this.analyses.save(claimed._id, claimId, analysis)) {
        await this.webhooks.sessionAnalyzed(claimed, analysis);
        this.logger.log(
          `analyzed session=${sessionId} final_score=${analysis.final_score} scored=${analysis.scored_count}`,
        );
        return { httpStatus: 200, body: analysisView(analysis) };
      }
      session = await this.sessions.getOwned(sessionId, userId);
    }
    throw new ServiceUnavailableException('The session kept changing while it was being analyzed; retry in a moment.');
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

  /** Resolves with the session as soon as `done` holds for it, or as it is at `until`. */
  private async waitFor(
    session: SessionRecord,
    done: (session: SessionRecord) => boolean,
    until: number,
    signal?: AbortSignal,
  ): Promise<SessionRecord> {
    const sessionId = String(session._id);
    const changed = await new Promise<SessionRecord | null>((resolve) => {
      let finished = false;
      const finish = (value: SessionRecord | null) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () => finish(null);
      const unsubscribe = this.changes.subscribe(sessionId, (s) => done(s) && finish(s));
      const timer = setTimeout(() => finish(null), Math.max(0, until - Date.now()));
      signal?.addEventListener('abort', onAbort);
      // a change between our last read and the subscription would otherwise be missed
      this.sessionRecords.findOwned(session._id, session.user_id).then(
        (s) => s && done(s) && finish(s),
        () => undefined,
      );
    });
    return changed ?? (await this.sessions.getOwned(sessionId, session.user_id));
  }

  private async score(session: SessionRecord): Promise<Analysis> {
    const answers: ScoredAnswer[] = new Array(session.questions.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < session.questions.length; i = next++) {
        const question = session.questions[i];
        const answer = session.answers?.[question.question_id];
        if (!answer) {
          answers[i] = {
            question_id: question.question_id,
            score: 0,
            feedback: ['No answer was recorded for this question.'],
            model_answer: question.model_answer,
            transcript: null,
            unanswered: true,
            method: 'none',
          };
          continue;
        }
        const transcript = answer.transcript ?? '';
        if (answer.no_speech || answer.suspect_hallucination) {
          answers[i] = unheard(question.question_id, question.model_answer, transcript, answer);
          continue;
        }
        const scored = await this.scorer.score({
          questionId: question.question_id,
          question: question.text,
          modelAnswer: question.model_answer,
          transcript,
        });
        answers[i] = {
          question_id: question.question_id,
          score: scored.score,
          feedback: scored.feedback,
          model_answer: question.model_answer,
          transcript,
          unanswered: false,
          method: scored.method,
        };
      }
    };
    await Promise.all(Array.from({ length: Math.min(SCORING_PARALLELISM, session.questions.length) }, worker));
    const total = answers.reduce((sum, a) => sum + a.score, 0);
    return {
      final_score: Math.round((total / answers.length) * 10) / 10,
      scored_count: answers.filter((a) => !a.unanswered).length,
      answers,
      analyzed_at: this.clock.now(),
    };
  }
}
