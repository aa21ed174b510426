import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { TranscriptsAheadDocuments } from '../../audio/transcripts-ahead.documents.js';
import type { UploadGrewEvent } from '../../audio/upload-growth.js';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import { Clock } from '../../database/clock.js';
import type { JobSource, SchedulableJob, StartedJob } from '../job-scheduler.js';
import { TranscriptionFailure } from '../recording/retry-policy.js';
import { GrowingUploadTranscriber, progressOf, type AheadProgress } from './growing-upload.transcriber.js';

/** A growing upload to look at. */
export interface AheadJob extends SchedulableJob {
  uploadId: ObjectId;
  sessionId: ObjectId;
  questionId: string;
  offset: number;
}

export const aheadJob = (event: UploadGrewEvent, now: Date): AheadJob => ({
  key: `ahead:${event.uploadId.toHexString()}`,
  dueAt: now,
  order: now,
  uploadId: event.uploadId,
  sessionId: event.sessionId,
  questionId: event.questionId,
  offset: event.offset,
});

/** How many uploads' last progress this instance remembers, to skip PATCHes that bring too little. */
const REMEMBERED = 10_000;

/**
 * Transcribing ahead, as the scheduler runs it: a growing upload's document is taken (one holder at
 * a time, under a lease the scheduler renews) and GrowingUploadTranscriber looks at it. Only PATCHes
 * say when to look (nothing scans for growing uploads): an upload that stops growing is either
 * completed, and then transcribed as an answer, or abandoned. What this instance last saw of an
 * upload spares the database the PATCHes that cannot make a piece.
 */
@Injectable()
export class TranscribeAheadJob implements JobSource<AheadJob> {
  private readonly logger = new Logger('TranscriptionWorker');
  private readonly seen = new Map<string, AheadProgress>();

  constructor(
    private readonly documents: TranscriptsAheadDocuments,
    private readonly transcriber: GrowingUploadTranscriber,
    private readonly clock: Clock,
    @Inject(transcriptionSettings.KEY) private readonly settings: TranscriptionSettings,
  ) {}

  /** Whether a PATCH that left the upload at `offset` may make a piece (unknown uploads: yes). */
  worthALook(event: UploadGrewEvent): boolean {
    const seen = this.seen.get(event.uploadId.toHexString());
    return !seen || this.transcriber.due(seen, event.offset);
  }

  findDue(): Promise<AheadJob[]> {
    return Promise.resolve([]);
  }

  inContext(_job: AheadJob, work: () => Promise<void>): Promise<void> {
    return work();
  }

  async claim(job: AheadJob): Promise<StartedJob | null> {
    const token = randomUUID();
    const id = job.uploadId;
    const owner = { session_id: job.sessionId, question_id: job.questionId };
    const taken = await this.documents
      .take(id, owner, token, this.clock.now(), this.settings.leaseMs)
      .catch((error: Error) => {
        this.logger.warn(`could not look ahead at upload ${id.toHexString()}: ${error.message}`);
        return 'busy' as const;
      });
    if (taken === 'busy') return null;
    this.remember(id, progressOf(taken));
    if (taken.stopped) {
      await this.documents.release(id, token).catch(() => undefined);
      return null;
    }
    return {
      renew: () => this.documents.renew(id, token, new Date(this.clock.nowMs() + this.settings.leaseMs)),
      run: async (signal) => {
        try {
          this.remember(id, await this.transcriber.look(taken, token, signal));
        } catch (error) {
          if (signal.aborted) return;
          // an upload ffmpeg cannot read while it grows (an MP4 whose index comes last) is transcribed once complete
          const stop = error instanceof TranscriptionFailure && error.kind === 'permanent';
          this.logger.warn(
            `upload ${id.toHexString()}: could not transcribe ahead (${error instanceof TranscriptionFailure ? error.logText : (error as Error).message})` +
              (stop ? '; it is transcribed when complete' : ''),
          );
          if (stop) await this.documents.record(id, token, { stopped: true, working: null }).catch(() => undefined);
        } finally {
          await this.documents.release(id, token).catch(() => undefined);
        }
      },
    };
  }

  private remember(id: ObjectId, progress: AheadProgress): void {
    const key = id.toHexString();
    this.seen.delete(key);
    this.seen.set(key, progress);
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
  }
}
