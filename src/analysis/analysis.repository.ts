import { Injectable } from '@nestjs/common';
import type { Types } from 'mongoose';
import { SessionDocuments } from '../interview-record/session-documents.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import { carryingEvents, type PendingWebhooks } from '../interview-record/pending-webhooks.js';
import type { Analysis, AnalysisClaim } from '../interview-record/analysis.schema.js';

/** The right to score a session, and the stored result. */
@Injectable()
export class AnalysisRepository {
  constructor(private readonly documents: SessionDocuments) {}

  /**
   * Takes the right to score a session: only if nothing changed since `rev` was read (so every
   * transcription is still settled) or a previous scorer's claim has lapsed.
   */
  claim(
    session: Pick<SessionRecord, '_id' | 'user_id' | 'rev' | 'status'>,
    claim: Omit<AnalysisClaim, 'until'>,
    leaseMs: number,
  ): Promise<SessionRecord | null> {
    return this.documents.findOneAndUpdateAt(
      session._id,
      (now) => ({
        filter:
          session.status === 'analyzing'
            ? { user_id: session.user_id, status: 'analyzing', 'analysis_claim.until': { $lt: now } }
            : // in_progress, or analyzed for a rescore (claim.rescore)
              { user_id: session.user_id, status: session.status, rev: session.rev },
        update: {
          $set: {
            status: 'analyzing',
            analysis_claim: { ...claim, until: new Date(now.getTime() + leaseMs) },
            updated_at: now,
          },
          $inc: { rev: 1 },
        },
      }),
      'after',
    );
  }

  /**
   * Stores the scores and closes the session, with the webhook events this causes, if `claimId`
   * still holds the analysis claim; a rescore keeps the analysis it replaces as previous_analysis.
   * The session after the write, or null.
   */
  save(
    sessionId: Types.ObjectId,
    claimId: string,
    analysis: Analysis,
    replaced: Analysis | null,
    events: PendingWebhooks,
  ): Promise<SessionRecord | null> {
    const carried = carryingEvents(events, analysis.analyzed_at);
    return this.documents.findOneAndUpdate(
      sessionId,
      { status: 'analyzing', 'analysis_claim.id': claimId },
      {
        $set: {
          status: 'analyzed',
          analysis,
          ...(replaced ? { previous_analysis: replaced } : {}),
          analysis_claim: null,
          updated_at: analysis.analyzed_at,
          ...carried.$set,
        },
        $inc: { rev: 1 },
        ...(carried.$min.webhooks_due_at ? { $min: carried.$min } : {}),
      },
      'after',
    );
  }

  /** Extends the claim to `leaseMs` from when the renewal is written; false when it is no longer held. */
  renew(sessionId: Types.ObjectId, claimId: string, leaseMs: number): Promise<boolean> {
    return this.documents.updateOneAt(sessionId, (now) => ({
      filter: { status: 'analyzing', 'analysis_claim.id': claimId },
      update: { $set: { 'analysis_claim.until': new Date(now.getTime() + leaseMs) } },
    }));
  }

  /**
   * Gives the session back (scoring failed), so that a later request can try again: open again, or
   * analyzed as before when it held an analysis (a rescore).
   */
  async release(sessionId: Types.ObjectId, claimId: string, analyzed: boolean, now: Date): Promise<void> {
    await this.documents.updateOne(
      sessionId,
      { status: 'analyzing', 'analysis_claim.id': claimId },
      {
        $set: { status: analyzed ? 'analyzed' : 'in_progress', analysis_claim: null, updated_at: now },
        $inc: { rev: 1 },
      },
    );
  }
}
