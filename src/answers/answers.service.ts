import { ConflictException, GoneException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { AnswerAudioStore } from '../audio/answer-audio.store.js';
import { toObjectId } from '../common/object-id.js';
import { deliverySettings, storageSettings, type DeliverySettings, type StorageSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import {
  answerStatusProjection,
  answerStatusView,
  sessionDeliveryOf,
  transcriptionSummary,
} from '../sessions/session.view.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { withSpan } from '../tracing/spans.js';
import { AnswerRepository } from './answer.repository.js';
import type { RetryAcceptedView, UploadAcceptedView } from './dto/answer-views.dto.js';
import type { AnswerStatusView, SessionTranscriptionStatusView } from '../sessions/dto/session-views.dto.js';
import { AudioUploadReceiver } from './intake/audio-upload.receiver.js';
import { AnswerIntake, assertOpenQuestion, QUESTION_NOT_FOUND } from './intake/answer-intake.js';
import { answerOf, answerPath, answersInOrder } from '../interview-record/answer-paths.js';

export { SESSION_ANALYZED } from './intake/answer-intake.js';
const NOTHING_UPLOADED = 'No answer has been uploaded for this question yet.';

@Injectable()
export class AnswersService {
  constructor(
    private readonly sessions: SessionsService,
    private readonly answers: AnswerRepository,
    private readonly audio: AnswerAudioStore,
    private readonly receiver: AudioUploadReceiver,
    private readonly intake: AnswerIntake,
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
      this.intake.count('accepted', accepted.size_bytes);
      return accepted.response;
    } catch (error) {
      this.intake.count('rejected');
      throw error;
    }
  }

  private async receiveAndQueue(userId: string, sessionId: string, questionId: string, req: Request) {
    const session = await this.sessions.getOwned(sessionId, userId, { status: 1, questions: 1 });
    assertOpenQuestion(session, questionId);

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

    const response = await this.intake.accept({
      session,
      userId,
      questionId,
      answerId,
      stored,
      format,
      sha256,
      requestId: (req as Request & { id?: string }).id ?? null,
    });
    return { size_bytes: stored.sizeBytes, response };
  }

  async status(userId: string, sessionId: string, questionId: string): Promise<AnswerStatusView> {
    const session = await this.sessions.getOwned(sessionId, userId, answerStatusProjection([questionId]));
    const answer = answerOf(session.answers, questionId);
    if (!answer) {
      throw new NotFoundException(
        session.questions.some((q) => q.question_id === questionId) ? NOTHING_UPLOADED : QUESTION_NOT_FOUND,
      );
    }
    return answerStatusView(answer, this.delivery.pauseThresholdSeconds);
  }

  async sessionStatus(userId: string, sessionId: string): Promise<SessionTranscriptionStatusView> {
    // a polled route: only the status fields, never segments
    const session = await this.sessions.getOwnedStatuses(sessionId, userId);
    const answers = answersInOrder(session).map((a) => answerStatusView(a, this.delivery.pauseThresholdSeconds));
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
        [answerPath(questionId)]: 1,
      });
      assertOpenQuestion(session, questionId);
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
      [answerPath(questionId)]: 1,
    });
    assertOpenQuestion(session, questionId);
    const answer = answerOf(session.answers, questionId);
    if (!answer) throw new NotFoundException(NOTHING_UPLOADED);
    if (answer.transcription_status !== 'failed') {
      throw new ConflictException(
        `Only a failed transcription can be retried; this one is ${answer.transcription_status}.`,
      );
    }
    throw new GoneException('The audio for this answer is no longer stored; upload the answer again.');
  }
}
