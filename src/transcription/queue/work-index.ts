import { Injectable } from '@nestjs/common';
import { SessionDocuments } from '../../interview-record/session-documents.js';
import type { SessionRecord } from '../../interview-record/session.schema.js';
import { dueAnswer, type DueAnswer } from '../../interview-record/answer-events.js';
import { isClaimable } from '../../interview-record/claimable-states.js';
import { answerDueAt, earliestDueAt, refreshWorkDue } from '../../interview-record/due-work.js';

export type { DueAnswer } from '../../interview-record/answer-events.js';

/** What the work index reads of a session (work_due_at as stored: absent when no work is due). */
export type IndexedSession = Pick<SessionRecord, '_id' | 'rev' | 'answers' | 'work_due_at'>;

/** Sessions read per scan for due work. */
const SCAN_BATCH = 100;

/**
 * work_due_at, an indexed field on each session: never later than when any of its answers next
 * needs a worker (a queued answer becoming due, a processing lease running out), absent when none
 * will. Workers scan it instead of every answer of every session.
 */
@Injectable()
export class WorkIndex {
  constructor(private readonly documents: SessionDocuments) {}

  /**
   * Answers that need a worker by `now` (new uploads elsewhere, retries, lapsed leases), and those
   * of the same sessions that will later. A session found with nothing claimable now gets its
   * work_due_at corrected, so that it is not read again before it is due.
   */
  async findDueAnswers(now: Date): Promise<DueAnswer[]> {
    const due: DueAnswer[] = [];
    for (const session of await this.findDue(now, SCAN_BATCH)) {
      let claimable = false; // then work_due_at must stay where it is
      for (const [questionId, answer] of Object.entries(session.answers ?? {})) {
        const dueAt = answerDueAt(answer);
        if (!answer.gridfs_file_id || !dueAt) continue;
        if (answer.transcription_status === 'processing' && !isClaimable(answer, now)) continue;
        claimable ||= isClaimable(answer, now);
        due.push(dueAnswer(session._id, questionId, answer));
      }
      if (!claimable) await this.refresh(session).catch(() => undefined);
    }
    return due;
  }

  /** Sessions that may have an answer needing a worker by `now`, earliest first. */
  findDue(now: Date, limit: number): Promise<IndexedSession[]> {
    return this.documents.model
      .find({ work_due_at: { $lte: now } }, { rev: 1, answers: 1, work_due_at: 1 })
      .sort({ work_due_at: 1 })
      .limit(limit)
      .lean<IndexedSession[]>()
      .exec();
  }

  /** Every session with an answer still to transcribe (work_due_at is set exactly for those). */
  pendingSessions(): AsyncIterable<Pick<SessionRecord, '_id' | 'answers'>> {
    return this.documents.model
      .find({ work_due_at: { $exists: true } }, { answers: 1 })
      .lean<Pick<SessionRecord, '_id' | 'answers'>>()
      .cursor({ batchSize: 500 });
  }

  /**
   * Sets work_due_at to exactly when this session next needs a worker, unless the session changed
   * since it was read (then whoever changed it kept work_due_at early enough), or it is exact already
   * (a completion that left no work unsets it in its own write).
   */
  async refresh(session: IndexedSession): Promise<void> {
    const exact = earliestDueAt(session.answers ?? {});
    if ((exact?.getTime() ?? null) === (session.work_due_at?.getTime() ?? null)) return;
    const { filter, update } = refreshWorkDue(session);
    await this.documents.updateOne(session._id, filter, update);
  }
}
