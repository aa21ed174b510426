import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { liveSettings, type LiveSettings } from '../config/settings.js';
import { watchClientLeft } from '../common/client-left.js';
import { UserLeases } from '../database/user-leases.js';
import { SessionChanges } from './session-changes.js';
import { answerOf, answersInOrder } from '../interview-record/answer-paths.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import type {
  AnalyzedEventView,
  AnswerStatusView,
  ReadyEventView,
  SnapshotEventView,
} from './dto/session-views.dto.js';
import { answerStatusView, transcriptionSummary } from './session.view.js';

/** Each event's name and the shape of its data, as the OpenAPI document describes them. */
interface StreamEvents {
  snapshot: SnapshotEventView;
  answer: AnswerStatusView;
  ready: ReadyEventView;
  analyzed: AnalyzedEventView;
}
import { SessionsService } from './sessions.service.js';

/** Fingerprint of what a client sees of one answer: an event is sent when it changes. */
const seenAs = (session: SessionRecord, questionId: string) => {
  const answer = answerOf(session.answers, questionId);
  return answer ? `${answer.id}:${answer.transcription_status}:${answer.attempts}:${answer.progress ?? 0}` : '';
};

/**
 * Server-Sent Events for one session's owner: a snapshot on connect, then one `answer` event per
 * status change (with the transcript once completed), `ready` when nothing is left to transcribe,
 * `analyzed` when scored, and heartbeat comments so that proxies keep the stream open.
 */
@Injectable()
export class SessionEventStream implements BeforeApplicationShutdown {
  private readonly heartbeatMs: number;
  /** Open streams, ended on shutdown: an open stream would keep the HTTP server from closing. */
  private readonly open = new Set<Response>();

  constructor(
    private readonly sessions: SessionsService,
    private readonly changes: SessionChanges,
    private readonly leases: UserLeases,
    @Inject(liveSettings.KEY) settings: LiveSettings,
  ) {
    this.heartbeatMs = settings.heartbeatMs;
  }

  beforeApplicationShutdown(): void {
    for (const res of this.open) {
      res.write('event: shutdown\ndata: {}\n\n');
      res.end();
    }
    this.open.clear();
  }

  async stream(userId: string, sessionId: string, res: Response): Promise<void> {
    const clientLeft = watchClientLeft(res);
    let current = await this.sessions.getOwnedStatuses(sessionId, userId);
    // counted across instances; a 429 (problem JSON, Retry-After) before any byte of the stream
    const lease = await this.leases.acquire(userId, 'event_stream');
    if (clientLeft()) {
      await lease.release(); // the client left while the lease was taken
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const send = <E extends keyof StreamEvents>(event: E, data: StreamEvents[E]) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    res.write('retry: 3000\n\n');

    const pendingOf = (s: SessionRecord) => {
      const summary = transcriptionSummary(s);
      return summary.queued + summary.processing;
    };
    const answered = (s: SessionRecord) => Object.keys(s.answers ?? {}).length > 0;
    send('snapshot', {
      session_id: sessionId,
      status: current.status,
      summary: transcriptionSummary(current),
      answers: answersInOrder(current).map((a) => answerStatusView(a)),
    });
    let announcedReady = pendingOf(current) === 0 && answered(current);
    if (announcedReady) send('ready', { session_id: sessionId, summary: transcriptionSummary(current) });

    const onChange = (next: SessionRecord) => {
      for (const question of next.questions) {
        const answer = answerOf(next.answers, question.question_id);
        if (answer && seenAs(next, question.question_id) !== seenAs(current, question.question_id)) {
          send('answer', answerStatusView(answer));
        }
      }
      const pending = pendingOf(next);
      if (pending > 0) announcedReady = false;
      else if (!announcedReady && answered(next)) {
        announcedReady = true;
        send('ready', { session_id: sessionId, summary: transcriptionSummary(next) });
      }
      if (next.status === 'analyzed' && current.status !== 'analyzed') {
        send('analyzed', { session_id: sessionId, final_score: next.analysis?.final_score ?? null });
      }
      current = next;
    };
    const unsubscribe = this.changes.subscribe(sessionId, onChange);
    const heartbeat = setInterval(() => res.write(': ping\n\n'), this.heartbeatMs);
    this.open.add(res);
    // ended by the client, by shutdown, or by a broken socket (the request may have closed long
    // before: a body read by a parser closes it)
    res.once('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(res);
      void lease.release();
    });
  }
}
