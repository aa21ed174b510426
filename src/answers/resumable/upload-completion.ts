import { ConflictException, GoneException, HttpException, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ObjectId } from 'mongodb';
import { ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import type { ResumableUpload } from '../../audio/resumable-upload.schema.js';
import { Clock } from '../../database/clock.js';
import { answerOf, answerPath } from '../../interview-record/answer-paths.js';
import type { SessionRecord } from '../../interview-record/session.schema.js';
import { SessionsService } from '../../sessions/sessions.service.js';
import type { UploadAcceptedView } from '../dto/answer-views.dto.js';
import type { AudioFormat } from '../intake/audio-format.js';
import { acceptedView, AnswerIntake, assertOpenQuestion, NEWER_ANSWER } from '../intake/answer-intake.js';
import { currentTusRequest } from './tus-request.js';
import { fromHttpException, tusError } from './tus-errors.js';
import type { UploadFormat } from './held-head.js';
import { UPLOAD_BUSY } from './upload-lease.locker.js';

/** An upload found complete that cannot be finished: its audio is gone, or it predates `replaces`. */
export const UPLOAD_RESET = 'This upload could not be finished and was removed; upload the answer again.';

/** An upload whose length is known: every upload whose last byte is in (a deferred length is declared first). */
type SizedUpload = ResumableUpload & { size: number };

function sized(doc: ResumableUpload): SizedUpload {
  if (doc.size === null) throw new Error(`upload ${doc._id.toHexString()} has no length yet`);
  return doc as SizedUpload;
}

/** The session as a completion reads it: open or not, its questions, and the answer id the question holds. */
interface SessionState {
  session: SessionRecord;
  current: string | null;
}

/**
 * Makes an upload whose last byte is in the question's answer, in steps that each leave a state the
 * next request can pick up (every one runs under the upload's lease, so two never run at once):
 * 1. the session is checked, and the answer the question holds noted (`replaces`);
 * 2. the GridFS files document is written (a replace: done twice, it is written twice);
 * 3. the upload is marked complete, with its SHA-256, its answer id and `replaces`;
 * 4. the answer is attached to the session, only over `replaces` when tried again, never twice;
 * 5. the upload's document is forgotten (if this fails, the answer stands and the next look finds it).
 * A failure before 3 leaves the upload unfinished: the client resends from the offset HEAD gives. A
 * failure after it leaves it complete: a later HEAD or PATCH calls `finish`, which ends it once. A
 * refusal (session erased or closed, a newer answer) removes the upload and its audio. Steps 2 and 3
 * and the removal are fenced by the holder's token: a request that lost the upload (taken over, or
 * removed by an erasure or the cleanup) writes nothing and gets a 423, which the store turns into a
 * 404 when the upload is gone.
 */
@Injectable()
export class UploadCompletion {
  private readonly logger = new Logger(UploadCompletion.name);

  constructor(
    private readonly documents: ResumableUploadDocuments,
    private readonly sessions: SessionsService,
    private readonly intake: AnswerIntake,
    private readonly clock: Clock,
  ) {}

  /** Steps 1 to 5 for the request that brought the last byte, as the holder `token`. */
  async complete(
    upload: ResumableUpload,
    token: string,
    done: { sha256: string; chunkCount: number; format: UploadFormat },
  ): Promise<UploadAcceptedView> {
    const doc = sized(upload);
    let state: SessionState;
    try {
      state = await this.sessionState(doc);
      assertOpenQuestion(state.session, doc.question_id);
    } catch (error) {
      // refused: the upload goes, with a files document an earlier try may have written
      throw await this.refused(doc, token, error);
    }
    const answerId = randomUUID();
    const written = await this.documents.writeFilesDocument(doc._id, token, {
      length: doc.size,
      chunkSize: doc.chunk_size,
      filename: `${String(doc.session_id)}-${doc.question_id}.${done.format.extension}`,
      metadata: {
        session_id: doc.session_id,
        question_id: doc.question_id,
        user_id: doc.user_id,
        answer_id: answerId,
        content_type: done.format.content_type,
        upload_date: this.clock.now(),
        status: 'queued',
        sha256: done.sha256,
        size_bytes: doc.size,
      },
    });
    if (!written) throw tusError(423, UPLOAD_BUSY);
    const completed = {
      offset: doc.size,
      next_n: done.chunkCount,
      tail: Buffer.alloc(0),
      format: done.format,
      complete: true,
      sha256: done.sha256,
      answer_id: answerId,
      replaces: state.current,
    };
    if (!(await this.documents.recordProgress(doc._id, token, completed))) throw tusError(423, UPLOAD_BUSY);
    return this.attach({ ...doc, ...completed, tail: doc.tail }, token, state.session, 'first');
  }

  /**
   * Steps 4 and 5 for an upload found complete (an earlier request failed after step 3): its answer
   * is attached unless it already is; refused (the upload removed) when the session is gone or
   * closed, a newer answer took the question, or the audio is gone.
   */
  async finish(upload: ResumableUpload, token: string): Promise<UploadAcceptedView> {
    const doc = sized(upload);
    let session: SessionRecord;
    try {
      const state = await this.sessionState(doc);
      session = state.session;
      if (state.current !== null && state.current === doc.answer_id) {
        // attached by the earlier request, which did not learn it
        this.intake.count('accepted', doc.size);
        await this.forget(doc._id);
        return acceptedView(doc._id, doc.sha256!);
      }
      assertOpenQuestion(session, doc.question_id);
      // an upload completed before `replaces` was kept cannot tell a newer answer from none
      if (doc.replaces === undefined) throw new GoneException(UPLOAD_RESET);
      if (state.current !== doc.replaces) throw new ConflictException(NEWER_ANSWER);
      if (!(await this.documents.hasFilesDocument(doc._id))) throw new GoneException(UPLOAD_RESET);
    } catch (error) {
      throw await this.refused(doc, token, error);
    }
    return this.attach(doc, token, session, 'again');
  }

  /**
   * Steps 4 and 5. The first try replaces whatever the question holds (the last upload to arrive
   * wins, as with multipart), unless it is this answer already; a later one only what it held then.
   */
  private async attach(
    doc: SizedUpload,
    token: string,
    session: SessionRecord,
    attempt: 'first' | 'again',
  ): Promise<UploadAcceptedView> {
    let view: UploadAcceptedView;
    try {
      view = await this.intake.accept({
        session,
        userId: doc.user_id,
        questionId: doc.question_id,
        answerId: doc.answer_id!,
        stored: { fileId: doc._id, sizeBytes: doc.size },
        format: { extension: doc.format!.extension, contentType: doc.format!.content_type } as AudioFormat,
        sha256: doc.sha256!,
        requestId: currentTusRequest()?.requestId ?? null,
        resumable: true,
        ...(attempt === 'again' ? { replacing: doc.replaces ?? null } : {}),
      });
    } catch (error) {
      throw await this.refused(doc, token, error);
    }
    this.intake.count('accepted', doc.size);
    await this.forget(doc._id);
    return view;
  }

  /**
   * A refusal (4xx) removes the upload, by its holder: its document first, so that no later request
   * tries to finish it, then its chunks and files document (the cleanup's, should that fail). A
   * holder that lost the upload meanwhile removes nothing (423). Anything else leaves it all for the
   * next try.
   */
  private async refused(doc: ResumableUpload, token: string, error: unknown): Promise<unknown> {
    if (!(error instanceof HttpException) || error.getStatus() >= 500) return error;
    if (!(await this.documents.remove(doc._id, { refusedBy: token }))) return tusError(423, UPLOAD_BUSY);
    this.intake.count('rejected');
    return fromHttpException(error);
  }

  /** The answer stands; a document left behind is found complete by the next look, or expires. */
  private async forget(id: ObjectId): Promise<void> {
    await this.documents.forget(id).catch((error: Error) => {
      this.logger.warn(`upload ${id.toHexString()} is finished but its document stays for now: ${error.message}`);
    });
  }

  private async sessionState(doc: ResumableUpload): Promise<SessionState> {
    const session = await this.sessions.getOwned(String(doc.session_id), doc.user_id, {
      status: 1,
      'questions.question_id': 1,
      [`${answerPath(doc.question_id)}.id`]: 1,
    });
    return { session, current: answerOf(session.answers, doc.question_id)?.id ?? null };
  }
}
