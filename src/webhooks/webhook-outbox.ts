import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createHash } from 'node:crypto';
import type { Types } from 'mongoose';
import { answerOf } from '../interview-record/answer-paths.js';
import type { PendingWebhooks, WebhookEventType } from '../interview-record/pending-webhooks.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';

/** In-process nudge: a delivery was stored, look now. The stored row is what counts. */
export const WEBHOOK_ENQUEUED = 'webhook.enqueued';

/** What an event needs of a session: webhooks know sessions only by this shape, never by import. */
export interface SessionFacts {
  _id: Types.ObjectId;
  user_id: string;
  webhook_url?: string | null;
  questions: { question_id: string }[];
  answers: Record<
    string,
    {
      id: string;
      question_id: string;
      transcription_status: string;
      transcribed_at: Date | null;
      transcription_error: string | null;
      attempts: number;
      updated_at: Date;
    }
  >;
}

/**
 * Turns session milestones into webhook events, and stores them for delivery. Each event's id is
 * derived from what it reports, so the same milestone seen twice (two workers, a retried write,
 * a relay and a sweep) is stored once. Events carry ids, statuses and scores, never transcripts:
 * the receiver reads those through the API with its own credentials.
 *
 * The events are built before the write that causes them (from the session as it will be after
 * it), so that the write can carry them: a crash or a failed insert can then delay an event, never
 * lose it.
 */
@Injectable()
export class WebhookOutbox {
  private readonly logger = new Logger(WebhookOutbox.name);

  constructor(
    private readonly deliveries: WebhookDeliveryStore,
    private readonly events: EventEmitter2,
  ) {}

  /** For the session as it is once an answer was transcribed: fires once every question has its transcript. */
  transcriptionsCompleted(session: SessionFacts, now: Date): PendingWebhooks {
    if (!session.webhook_url) return {};
    const answers = session.questions.map((q) => answerOf(session.answers, q.question_id));
    if (answers.some((a) => a?.transcription_status !== 'completed')) return {};
    const done = answers.map((a) => a!);
    return this.event(session, 'transcriptions.completed', done.map((a) => a.id).join(','), now, {
      answers: done.map((a) => ({ question_id: a.question_id, transcribed_at: a.transcribed_at })),
    });
  }

  /** For the session as it is once the answer to `questionId` failed for good. */
  transcriptionFailed(session: SessionFacts, questionId: string, now: Date): PendingWebhooks {
    const answer = answerOf(session.answers, questionId);
    if (!session.webhook_url || answer?.transcription_status !== 'failed') return {};
    return this.event(session, 'transcription.failed', `${answer.id}:${answer.updated_at.toISOString()}`, now, {
      question_id: questionId,
      error: answer.transcription_error,
      attempts: answer.attempts,
    });
  }

  sessionAnalyzed(
    session: SessionFacts,
    analysis: { final_score: number; scored_count: number; analyzed_at: Date },
  ): PendingWebhooks {
    if (!session.webhook_url) return {};
    return this.event(session, 'session.analyzed', analysis.analyzed_at.toISOString(), analysis.analyzed_at, {
      final_score: analysis.final_score,
      scored_count: analysis.scored_count,
      analyzed_at: analysis.analyzed_at,
    });
  }

  /**
   * Hands pending events of a session to the delivery outbox (a second store of the same id is a
   * no-op). Throws when the database refused: the events stay pending in the session and a later
   * relay stores them.
   */
  async store(sessionId: Types.ObjectId, pending: PendingWebhooks): Promise<string[]> {
    const ids = Object.keys(pending);
    for (const id of ids) {
      const { event, url, body, created_at } = pending[id];
      await this.deliveries.enqueue({
        _id: id,
        session_id: sessionId,
        event,
        url,
        body,
        status: 'pending',
        // the dispatcher's own clock decides when a delivery is due
        next_attempt_at: new Date(),
        created_at,
      });
    }
    for (const id of ids) this.events.emit(WEBHOOK_ENQUEUED, id);
    if (ids.length > 0) this.logger.debug(`stored ${ids.length} webhook event(s) of session=${String(sessionId)}`);
    return ids;
  }

  private event(
    session: SessionFacts,
    event: WebhookEventType,
    identity: string,
    now: Date,
    data: object,
  ): PendingWebhooks {
    const sessionId = String(session._id);
    const id = `evt_${createHash('sha256').update(`${sessionId}|${event}|${identity}`).digest('hex').slice(0, 32)}`;
    const body = JSON.stringify({
      id,
      type: event,
      // Standard Webhooks' payload members are type, timestamp and data
      timestamp: now.toISOString(),
      created_at: now.toISOString(),
      data: { session_id: sessionId, user_id: session.user_id, ...data },
    });
    return { [id]: { event, url: session.webhook_url!, body, created_at: now } };
  }
}
