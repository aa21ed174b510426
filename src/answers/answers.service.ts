import { ConflictException, GoneException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { AnswerAudioStore, StoredAudio } from '../audio/answer-audio.store.js';
import { toObjectId } from '../common/object-id.js';
import { deliverySettings, storageSettings, type DeliverySettings, type StorageSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import type { SessionRecord } from '../sessions/session.schema.js';
import { answerStatusView, sessionDeliveryOf, transcriptionSummary } from '../sessions/session.view.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { SessionsService, SESSION_NOT_FOUND } from '../sessions/sessions.service.js';
import { currentTraceParent, withSpan } from '../tracing/spans.js';
import { freshQueueState } from '../transcription/queue/answer-queue-state.schema.js';
import { AnswerRepository } from './answer.repository.js';
import type { RetryAcceptedView, UploadAcceptedView } from './dto/answer-views.dto.js';
import type { AnswerStatusView, SessionTranscriptionStatusView } from '../sessions/dto/session-views.dto.js';
import type { Answer } from './answer.schema.js';
import { AudioUploadReceiver } from './intake/audio-upload.receiver.js';

export const SESSION_ANALYZED = 'This session has already been analyzed; its answers can no longer be changed.';
const SESSION_ANALYZING = 'This session is being analyzed; its answers can no longer be changed.';
const closedMessage = (status: string) => (status === 'analyzing' ? SESSION_ANALYZING : SESSION_ANALYZED);
const QUESTION_NOT_FOUND = 'This session has no question with that id.';
const NOTHING_UPLOADED = 'No answer has been uploaded for this question yet.';

@Injectable()
export class AnswersService {
  private readonly logger = new Logger(AnswersService.name);

  constructor(
    private readonly sessions: SessionsService,
    private readonly sessionRecords: SessionRepository,
    private readonly answers: AnswerRepository,
    private readonly audio: AnswerAudioStore,
    private readonly receiver: AudioUploadReceiver,
    private readonly metrics: ServiceMetrics,
    private readonly clock: Clock,
    @Inject(storageSettings.KEY) private readonly settings: StorageSettings,
    @Inject(deliverySettings.KEY) private readonly delivery: DeliverySettings,
  ) {}

  /**
   * Streams the request's audio into GridFS, then makes it the question's answer in one atomic
   * update and queues it for transcription. A refused or broken upload leaves nothing stored.
   */
  async upload(userId: string, sessionId: string, questionId: string, req: Request): Promise<UploadAcceptedView> {
    try {
      const accepted = await withSpan(
        'answer.upload',
        { 'interview.session_id': sessionId, 'interview.question_id': questionId },
        async (span) => {
          const result = await this.receiveAndQueue(userId, sessionId, questionId, req);
          span.setAttribute('interview.audio.size_bytes', result.size_bytes);
          return result;
        },
      );
      this.metrics.uploads.inc({ outcome: 'accepted' });
      this.metrics.uploadBytes.inc(accepted.size_bytes);
      return accepted.response;
    } catch (error) {
      this.metrics.uploads.inc({ outcome: 'rejected' });
      throw error;
    }
  }

  private async receiveAndQueue(userId: string, sessionId: string, questionId: string, req: Request) {
    const session = await this.sessions.getOwned(sessionId, userId, { status: 1, questions: 1 });
    this.assertOpenQuestion(session, questionId);

    const incoming = this.receiver.receive(req, this.settings.maxUploadBytes);
    const { stream, format } = await incoming.audio;
    const answerId = randomUUID();
    const uploadStarted = this.clock.now();
    let sha256 = '';
    const stored = await this.audio.save(
      stream,
      `${sessionId}-${questionId}.${format.extension}`,
      {
        session_id: session._id,
        question_id: questionId,
        user_id: userId,
        answer_id: answerId,
        content_type: format.contentType,
        upload_date: uploadStarted,
        status: 'queued',
      },
      (metadata) => {
        sha256 = stream.sha256();
        metadata.sha256 = sha256;
        metadata.size_bytes = stream.bytesSeen;
      },
    );
    try {
      await incoming.done;
    } catch (error) {
      await this.audio.delete(stored.fileId).catch(() => undefined);
      throw error;
    }

    const now = this.clock.now();
    const answer: Answer = {
      id: answerId,
      question_id: questionId,
      gridfs_file_id: stored.fileId,
      transcription_status: 'queued',
      transcript: null,
      transcribed_at: null,
      transcription_error: null,
      created_at: now,
      updated_at: now,
      ...freshQueueState(now),
      audio: { format: format.extension, content_type: format.contentType, size_bytes: stored.sizeBytes, sha256 },
      request_id: (req as Request & { id?: string }).id ?? null,
      trace_context: currentTraceParent(),
    };
    const previous = await this.attach(session, userId, answer, stored);
    if (previous?.gridfs_file_id) {
      // The replaced audio is no longer referenced; if this delete is lost, cleanup finds the orphan.
      await this.audio
        .delete(previous.gridfs_file_id)
        .catch((error: Error) =>
          this.logger.warn(`could not delete replaced audio ${String(previous.gridfs_file_id)}: ${error.message}`),
        );
    }
    const response: UploadAcceptedView = {
      status: 'processing',
      message: 'Upload received; the answer is queued for transcription.',
      file_id: String(stored.fileId),
      transcription_status: 'queued',
      sha256,
    };
    return { size_bytes: stored.sizeBytes, response };
  }

  async status(userId: string, sessionId: string, questionId: string): Promise<AnswerStatusView> {
    const session = await this.sessions.getOwned(sessionId, userId, { questions: 1, [`answers.${questionId}`]: 1 });
    const answer = session.answers?.[questionId];
    if (!answer) {
      throw new NotFoundException(
        session.questions.some((q) => q.question_id === questionId) ? NOTHING_UPLOADED : QUESTION_NOT_FOUND,
      );
    }
    return answerStatusView(answer, this.delivery.pauseThresholdSeconds);
  }

  async sessionStatus(userId: string, sessionId: string): Promise<SessionTranscriptionStatusView> {
    const session = await this.sessions.getOwned(sessionId, userId, { questions: 1, answers: 1 });
    const answers = session.questions
      .filter((q) => session.answers?.[q.question_id])
      .map((q) => answerStatusView(session.answers[q.question_id], this.delivery.pauseThresholdSeconds));
    return {
      session_id: sessionId,
      summary: transcriptionSummary(session),
      answers,
      delivery: sessionDeliveryOf(session, this.delivery.pauseThresholdSeconds),
    };
  }

  /** Withdraws an answer: its transcript and audio go, and a job still running on it writes nothing. */
  async withdraw(userId: string, sessionId: string, questionId: string): Promise<void> {
    const withdrawn = await this.answers.withdraw(toObjectId(sessionId), userId, questionId, this.clock.now());
    if (!withdrawn) {
      const session = await this.sessions.getOwned(sessionId, userId, {
        status: 1,
        questions: 1,
        [`answers.${questionId}`]: 1,
      });
      this.assertOpenQuestion(session, questionId);
      throw new NotFoundException(NOTHING_UPLOADED);
    }
    if (withdrawn.gridfs_file_id) await this.audio.delete(withdrawn.gridfs_file_id);
  }

  /** Queues a failed answer again (its audio is still stored). */
  async retry(userId: string, sessionId: string, questionId: string): Promise<RetryAcceptedView> {
    const before = await this.answers.requeueFailed(toObjectId(sessionId), userId, questionId, this.clock.now());
    if (before) {
      return {
        status: 'processing',
        message: 'The answer is queued for transcription again.',
        file_id: String(before.gridfs_file_id),
        transcription_status: 'queued',
      };
    }
    const session = await this.sessions.getOwned(sessionId, userId, {
      status: 1,
      questions: 1,
      [`answers.${questionId}`]: 1,
    });
    this.assertOpenQuestion(session, questionId);
    const answer = session.answers?.[questionId];
    if (!answer) throw new NotFoundException(NOTHING_UPLOADED);
    if (answer.transcription_status !== 'failed') {
      throw new ConflictException(
        `Only a failed transcription can be retried; this one is ${answer.transcription_status}.`,
      );
    }
    throw new GoneException('The audio for this answer is no longer stored; upload the answer again.');
  }

  private assertOpenQuestion(session: SessionRecord, questionId: string): void {
    if (!session.questions.some((q) => q.question_id === questionId)) throw new NotFoundException(QUESTION_NOT_FOUND);
    if (session.status !== 'in_progress') throw new ConflictException(closedMessage(session.status));
  }

  /** Swaps the new answer in; if the session changed meanwhile (analyzed, erased), the audio goes. */
  private async attach(session: SessionRecord, userId: string, answer: Answer, stored: StoredAudio) {
    let previous: Answer | null | undefined;
    try {
      previous = await this.answers.replace(session._id, userId, answer);
    } catch (error) {
      await this.audio.delete(stored.fileId).catch(() => undefined);
      throw error;
    }
    if (previous === undefined) {
      await this.audio.delete(stored.fileId);
      const current = await this.sessionRecords.findOwned(session._id, userId, { status: 1 });
      if (!current) throw new NotFoundException(SESSION_NOT_FOUND);
      throw new ConflictException(closedMessage(current.status));
    }
    return previous;
  }
}
