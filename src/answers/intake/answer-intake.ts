import { ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { AnswerAudioStore, type StoredAudio } from '../../audio/answer-audio.store.js';
import { Clock } from '../../database/clock.js';
import { ServiceMetrics } from '../../metrics/service-metrics.js';
import { answerOf, answerPath } from '../../interview-record/answer-paths.js';
import type { SessionRecord } from '../../interview-record/session.schema.js';
import { SessionRepository } from '../../sessions/session.repository.js';
import { SESSION_NOT_FOUND } from '../../sessions/sessions.service.js';
import { currentTraceParent } from '../../tracing/spans.js';
import { freshQueueState } from '../../interview-record/answer-queue-state.schema.js';
import { AnswerRepository } from '../answer.repository.js';
import type { Answer } from '../../interview-record/answer.schema.js';
import type { UploadAcceptedView } from '../dto/answer-views.dto.js';
import type { AudioFormat } from './audio-format.js';

export const SESSION_ANALYZED = 'This session has already been analyzed; its answers can no longer be changed.';
const SESSION_ANALYZING = 'This session is being analyzed; its answers can no longer be changed.';
export const closedMessage = (status: string) => (status === 'analyzing' ? SESSION_ANALYZING : SESSION_ANALYZED);
export const QUESTION_NOT_FOUND = 'This session has no question with that id.';

/** 404 for a question the session does not have, 409 once the session is analyzed or being analyzed. */
export function assertOpenQuestion(session: Pick<SessionRecord, 'questions' | 'status'>, questionId: string): void {
  if (!session.questions.some((q) => q.question_id === questionId)) throw new NotFoundException(QUESTION_NOT_FOUND);
  if (session.status !== 'in_progress') throw new ConflictException(closedMessage(session.status));
}

/** Audio that is completely in GridFS (files document written), and what is known of it. */
export interface ArrivedAudio {
  session: SessionRecord;
  userId: string;
  questionId: string;
  answerId: string;
  stored: StoredAudio;
  format: AudioFormat;
  sha256: string;
  requestId: string | null;
  /** Came through a resumable upload (tus), so parts of it may have been transcribed while it grew. */
  resumable?: boolean;
  /**
   * For a completion tried again (tus): replace only the answer the question held when the upload
   * completed (its id, or null for none). Whatever the question holds is replaced otherwise.
   */
  replacing?: string | null;
}

export const NEWER_ANSWER =
  'A newer answer to this question was uploaded while this one was being finished; this recording was not kept.';

/** The 202 body of an accepted upload, for either path. */
export function acceptedView(fileId: unknown, sha256: string): UploadAcceptedView {
  return {
    status: 'processing',
    message: 'Upload received; the answer is queued for transcription.',
    file_id: String(fileId),
    transcription_status: 'queued',
    sha256,
  };
}

/**
 * What happens once an answer's bytes are in, whichever way they came (one multipart request or a
 * resumable tus upload): the audio becomes the question's answer in one atomic update (replacing
 * the previous one, whose audio goes), queued for transcription; the response carries its hash.
 * If the session closed meanwhile, the new audio is deleted and the caller gets the 409/404. Taking
 * the same answer in again (a retry whose first try landed unseen) changes nothing and succeeds.
 */
@Injectable()
export class AnswerIntake {
  private readonly logger = new Logger(AnswerIntake.name);

  constructor(
    private readonly sessionRecords: SessionRepository,
    private readonly answers: AnswerRepository,
    private readonly audio: AnswerAudioStore,
    private readonly metrics: ServiceMetrics,
    private readonly clock: Clock,
  ) {}

  async accept(arrived: ArrivedAudio): Promise<UploadAcceptedView> {
    const { stored, format, sha256 } = arrived;
    const now = this.clock.now();
    const answer: Answer = {
      id: arrived.answerId,
      question_id: arrived.questionId,
      gridfs_file_id: stored.fileId,
      transcription_status: 'queued',
      transcript: null,
      transcribed_at: null,
      transcription_error: null,
      created_at: now,
      updated_at: now,
      ...freshQueueState(now),
      audio: {
        format: format.extension,
        content_type: format.contentType,
        size_bytes: stored.sizeBytes,
        sha256,
        ...(arrived.resumable ? { resumable: true } : {}),
      },
      request_id: arrived.requestId,
      trace_context: currentTraceParent(),
    };
    const previous = await this.attach(arrived, answer);
    if (previous?.gridfs_file_id) {
      // The replaced audio is no longer referenced; if this delete is lost, cleanup finds the orphan.
      await this.audio
        .delete(previous.gridfs_file_id)
        .catch((error: Error) =>
          this.logger.warn(`could not delete replaced audio ${String(previous.gridfs_file_id)}: ${error.message}`),
        );
    }
    return acceptedView(stored.fileId, sha256);
  }

  /** Counts an upload's outcome, for either path. */
  count(outcome: 'accepted' | 'rejected', sizeBytes = 0): void {
    this.metrics.uploads.inc({ outcome });
    if (outcome === 'accepted') this.metrics.uploadBytes.inc(sizeBytes);
  }

  /**
   * Swaps the new answer in; if the session changed meanwhile (analyzed, erased, a newer answer),
   * the audio goes. A failed write leaves the audio: the write may have landed all the same, and the
   * answer would then point at nothing (an orphan is the cleanup's to find). Returns the answer
   * replaced, or null when there was none, or when this answer was in place already.
   */
  private async attach(arrived: ArrivedAudio, answer: Answer): Promise<Answer | null> {
    const { session, userId, questionId, stored } = arrived;
    const previous = await this.answers.replace(session._id, userId, answer, arrived.replacing);
    if (previous !== undefined) return previous;
    const current = await this.sessionRecords.findOwned(session._id, userId, {
      status: 1,
      [`${answerPath(questionId)}.id`]: 1,
    });
    if (answerOf(current?.answers, questionId)?.id === answer.id) return null; // taken in by an earlier try
    await this.audio.delete(stored.fileId);
    if (!current) throw new NotFoundException(SESSION_NOT_FOUND);
    if (current.status !== 'in_progress') throw new ConflictException(closedMessage(current.status));
    throw new ConflictException(NEWER_ANSWER);
  }
}
