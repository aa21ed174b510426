import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { scoringSettings, type ScoringSettings } from '../config/settings.js';
import { answerOf } from '../interview-record/answer-paths.js';
import { SESSION_CHANGED, type SessionChangedEvent } from '../interview-record/session-events.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import { Slots } from '../common/slots.js';
import { AnswerScoring, scorable } from './answer-scoring.js';

/**
 * Scores each answer as soon as its transcript is stored (SCORING_EAGER), so that analyze finds the
 * scores made: a change to a session made by this process (a transcript stored, for one) is the nudge
 * to look at it, and the document that write read back says what is due. At most
 * TRANSCRIPTION_CONCURRENCY answers at once. An answer whose scoring lapsed (a crashed instance) is
 * scored at the next look or by analyze.
 */
@Injectable()
export class EagerScorer implements OnModuleDestroy {
  private readonly logger = new Logger(EagerScorer.name);
  /** session/question/answer id of the scorings this process runs or waits to run. */
  private readonly running = new Set<string>();
  private readonly slots: Slots;
  private closed = false;

  constructor(
    private readonly scoring: AnswerScoring,
    @Inject(scoringSettings.KEY) private readonly settings: ScoringSettings,
  ) {
    this.slots = new Slots(Math.max(1, settings.concurrency));
  }

  onModuleDestroy(): void {
    this.closed = true;
  }

  /**
   * Only a write that read the session back can make an answer due: storing a transcript is such a
   * write, and its document is all there is to look at, so no read is spent here. An event without
   * a document (an update that returned none) makes nothing newly scorable and is passed over; an
   * answer whose scoring lapsed is taken up at the session's next such change, or by analyze.
   */
  @OnEvent(SESSION_CHANGED)
  onChange(event: SessionChangedEvent): void {
    if (!this.settings.eager || this.closed || !event.session) return;
    const session = event.session;
    if (session.status !== 'in_progress') return;
    for (const question of session.questions) this.maybeScore(session, question.question_id);
  }

  private maybeScore(session: SessionRecord, questionId: string): void {
    const answer = answerOf(session.answers, questionId);
    if (!scorable(answer)) return;
    const record = answerOf(session.answer_scores ?? undefined, questionId);
    if (record?.answer_id === answer.id && record.status === 'scored') return;
    const key = `${String(session._id)}/${questionId}/${answer.id}`;
    if (this.running.has(key)) return;
    this.running.add(key);
    void this.slots
      .take()
      .then(async (release) => {
        try {
          // no wait: a live claim elsewhere is someone else's to finish
          const score = await this.scoring.ensure(session, questionId);
          if (score) this.logger.log(`scored eagerly session=${String(session._id)} question=${questionId}`);
        } finally {
          release();
        }
      })
      .catch((error: Error) =>
        this.logger.warn(
          `eager scoring of session=${String(session._id)} question=${questionId} failed: ${error.message}`,
        ),
      )
      .finally(() => this.running.delete(key));
  }
}
