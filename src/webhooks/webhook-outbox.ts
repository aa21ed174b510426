import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createHash } from 'node:crypto';
import type { Types } from 'mongoose';
import { WebhookDeliveryStore, type WebhookEventType } from './webhook-delivery.store.js';

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
 * Turns session milestones into stored webhook events. Each event's id is derived from what it
 * reports, so the same milestone seen twice (two workers, a retried write) is stored once.
 * Events carry ids, statuses and scores, never transcripts: the receiver reads those through the
 * API with its own credentials.
 */
@Injectable()
export class WebhookOutbox {
  private readonly logger = new Logger(WebhookOutbox.name);

  constructor(
    private readonly deliveries: WebhookDeliveryStore,
    private readonly events: EventEmitter2,
  ) {}

  /** After an answer was transcribed: fires once every question has its transcript. */
  async answerCompleted(session: SessionFacts): Promise<void> {
    if (!session.webhook_url) return;
    const answers = session.questions.map((q) => session.answers?.[q.question_id]);
    if (answers.some((a) => a?.transcription_status !== 'completed')) return;
    const done = answers.map((a) => a!);
    await this.enqueue(session, 'transcriptions.completed', done.map((a) => a.id).join(','), {
      answers: done.map((a) => ({ question_id: a.question_id, transcribed_at: a.transcribed_at })),
    });
  }

  async answerFailed(session: SessionFacts, questionId: string): Promise<void> {
    const answer = session.answers?.[questionId];
    if (!session.webhook_url || answer?.transcription_status !== 'failed') return;
    await this.enqueue(session, 'transcription.failed', `${answer.id}:${answer.updated_at.toISOString()}`, {
      question_id: questionId,
      error: answer.transcription_error,
      attempts: answer.attempts,
    });
  }

  async sessionAnalyzed(
    session: SessionFacts,
    analysis: { final_score: number; scored_count: number; analyzed_at: Date },
  ): Promise<void> {
    if (!session.webhook_url) return;
    await this.enqueue(session, 'session.analyzed', analysis.analyzed_at.toISOString(), {
      final_score: analysis.final_score,
      scored_count: analysis.scored_count,
      analyzed_at: analysis.analyzed_at,
    });
  }

  private async enqueue(session: SessionFacts, event: WebhookEventType, identity: string, data: object) {
    const sessionId = String(session._id);
    const id = `evt_${createHash('sha256').update(`${sessionId}|${event}|${identity}`).digest('hex').slice(0, 32)}`;
    const now = new Date();
    const body = JSON.stringify({
      id,
      type: event,
      // Standard Webhooks' payload members are type, timestamp and data
      timestamp: now.toISOString(),
      created_at: now.toISOString(),
      data: { session_id: sessionId, user_id: session.user_id, ...data },
    });
    try {
      await this.deliveries.enqueue({
        _id: id,
        session_id: session._id,
        event,
        url: session.webhook_url!,
        body,
        status: 'pending',
        next_attempt_at: now,
        created_at: now,
      });
    } catch (error) {
      // the milestone itself is stored; only its notification is lost, and the log says so
      this.logger.error(`could not store webhook ${event} for session=${sessionId}: ${(error as Error).message}`);
      return;
    }
    this.events.emit(WEBHOOK_ENQUEUED, id);
  }
}
