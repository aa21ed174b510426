import { HttpException, Inject, Injectable, Logger, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { Server, type Upload } from '@tus/server';
import type { Request, Response } from 'express';
import { ObjectId } from 'mongodb';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import { AnswerAudioStore } from '../../audio/answer-audio.store.js';
import { ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import type { AuthenticatedUser } from '../../auth/authenticated-user.js';
import { storageSettings, type StorageSettings } from '../../config/settings.js';
import { QUESTION_ID_PATTERN, QUESTION_ID_RULE, SESSION_ID_PATTERN, SESSION_ID_RULE } from '../../common/ids.js';
import { Clock } from '../../database/clock.js';
import { SessionsService } from '../../sessions/sessions.service.js';
import type { AudioFormat } from '../intake/audio-format.js';
import { AnswerIntake, assertOpenQuestion } from '../intake/answer-intake.js';
import { GridFsTusStore, UPLOAD_NOT_FOUND, uploadObjectId } from './gridfs-tus.store.js';
import { fromHttpException, isTusError, tusError } from './tus-errors.js';
import { readOnlyLocker, UploadLeaseLocker } from './upload-lease.locker.js';

export const UPLOADS_PATH = '/api/uploads';

/** The request as @tus/server hands it to hooks: a web Request that keeps the Node one. */
type TusRequest = globalThis.Request & {
  runtime?: { node?: { req: Request & { user?: AuthenticatedUser; id?: string } } };
};

const nodeRequest = (req: TusRequest) => req.runtime?.node?.req;

/**
 * Resumable uploads (tus 1.0: core, creation, termination, expiration) at /api/uploads, over the
 * GridFS store. An upload is bound at creation to the caller, a session and a question
 * (`Upload-Metadata: session_id, question_id`) and passes the multipart endpoint's checks; once its
 * last byte is in it goes through the same intake, so the final PATCH answers 202 with the same
 * body as a multipart upload (the SHA-256 of the bytes stored).
 */
@Injectable()
export class ResumableUploadsService implements OnModuleInit {
  private readonly logger = new Logger(ResumableUploadsService.name);
  private server!: Server;

  constructor(
    private readonly documents: ResumableUploadDocuments,
    private readonly audio: AnswerAudioStore,
    private readonly sessions: SessionsService,
    private readonly intake: AnswerIntake,
    private readonly clock: Clock,
    @Inject(storageSettings.KEY) private readonly settings: StorageSettings,
  ) {}

  onModuleInit(): void {
    const locker = new UploadLeaseLocker(this.documents, this.clock, this.settings.resumableLeaseMs);
    const store = new GridFsTusStore(this.documents, locker, this.clock, {
      chunkSizeBytes: this.settings.chunkSizeBytes,
      expiryMs: this.settings.resumableExpiryMs,
    });
    this.server = new Server({
      path: UPLOADS_PATH,
      datastore: store,
      relativeLocation: true,
      maxSize: this.settings.maxUploadBytes,
      locker: (req) => (req.method === 'HEAD' ? readOnlyLocker : locker),
      namingFunction: () => new ObjectId().toHexString(),
      onUploadCreate: (req, upload) => this.bind(req as TusRequest, upload),
      onIncomingRequest: (req, id) => this.assertOwner(req as TusRequest, id),
      onUploadFinish: (req, upload) => this.finish(req as TusRequest, upload),
      onResponseError: (_req, error) => this.asProblem(error),
    });
  }

  /**
   * What @tus/server's own `handle` does, but a PATCH's body reaches the store as the request's own
   * buffers: srvx makes it a web stream with Readable.toWeb, which copies every chunk it passes. On
   * a large upload those copies were a quarter of the garbage that raised the server's memory
   * between collections (test/e2e/large-resumable-upload.e2e-spec.ts).
   */
  async handle(req: Request, res: Response): Promise<void> {
    const request = new NodeRequest({ req, res });
    if (req.method === 'PATCH') {
      Object.defineProperty(request, 'body', { value: ReadableStream.from(req), configurable: true });
    }
    await sendNodeResponse(res, await this.server.handleWeb(request));
  }

  /** POST: the upload must name a session the caller owns, still open, with that question. */
  private async bind(req: TusRequest, upload: Upload): Promise<{ metadata: Record<string, string | null> }> {
    const userId = this.userOf(req);
    const sessionId = upload.metadata?.session_id;
    const questionId = upload.metadata?.question_id;
    if (!sessionId || !questionId) {
      throw tusError(400, 'Name the answer in Upload-Metadata: session_id and question_id (base64, as tus says).');
    }
    // checked here, where they enter: a session id that is no ObjectId must be a 400, not a driver error
    if (!SESSION_ID_PATTERN.test(sessionId)) throw tusError(400, `Upload-Metadata session_id ${SESSION_ID_RULE}.`);
    if (!QUESTION_ID_PATTERN.test(questionId)) throw tusError(400, `Upload-Metadata question_id ${QUESTION_ID_RULE}.`);
    if (upload.size === undefined) throw tusError(400, 'Send Upload-Length: the recording size in bytes.');
    if (upload.size === 0) throw tusError(400, 'The recording is empty; record an answer and upload it again.');
    try {
      const session = await this.sessions.getOwned(sessionId, userId, { status: 1, questions: 1 });
      assertOpenQuestion(session, questionId);
    } catch (error) {
      throw fromHttpException(error);
    }
    return { metadata: { session_id: sessionId, question_id: questionId, user_id: userId } };
  }

  /** HEAD, PATCH, DELETE: only the user who created an upload may see or touch it. */
  private async assertOwner(req: TusRequest, id: string): Promise<void> {
    if (req.method === 'POST') return;
    const userId = this.userOf(req);
    const objectId = uploadObjectId(id);
    const doc = objectId ? await this.documents.get(objectId) : null;
    if (!doc || doc.user_id !== userId) throw tusError(404, UPLOAD_NOT_FOUND);
  }

  /** The last byte is in and the file is complete in GridFS: the shared intake makes it the answer. */
  private async finish(req: TusRequest, upload: Upload) {
    const id = uploadObjectId(upload.id)!;
    const doc = await this.documents.get(id);
    // removed since the last byte was in (its session erased): the store has let go of it already
    if (!doc) throw tusError(404, UPLOAD_NOT_FOUND);
    if (!doc.complete || !doc.format || !doc.sha256 || !doc.answer_id) {
      throw new Error(`upload ${upload.id} finished without being complete`);
    }
    const fileId = id as never;
    try {
      const session = await this.sessions.getOwned(String(doc.session_id), doc.user_id, { status: 1, questions: 1 });
      assertOpenQuestion(session, doc.question_id);
      const view = await this.intake.accept({
        session,
        userId: doc.user_id,
        questionId: doc.question_id,
        answerId: doc.answer_id,
        stored: { fileId, sizeBytes: doc.size },
        format: { extension: doc.format.extension, contentType: doc.format.content_type } as AudioFormat,
        sha256: doc.sha256,
        requestId: nodeRequest(req)?.id ?? null,
      });
      await this.documents.forget(id);
      this.intake.count('accepted', doc.size);
      return { status_code: 202, body: JSON.stringify(view), headers: { 'Content-Type': 'application/json' } };
    } catch (error) {
      this.intake.count('rejected');
      if (error instanceof HttpException && error.getStatus() < 500) {
        await this.audio.delete(fileId).catch(() => undefined);
        await this.documents.forget(id).catch(() => undefined);
      }
      throw fromHttpException(error);
    }
  }

  private userOf(req: TusRequest): string {
    const user = nodeRequest(req)?.user;
    if (!user) throw fromHttpException(new UnauthorizedException('Sign in: send Authorization: Bearer <token>.'));
    return user.userId;
  }

  /** Every refusal as problem details; the library's plain-text ones are wrapped, unknown errors logged. */
  private asProblem(error: unknown): { status_code: number; body: string } {
    if (isTusError(error)) {
      if (error.body.startsWith('{')) return error;
      return tusError(error.status_code, error.body.trim());
    }
    this.logger.error(`resumable upload failed: ${(error as Error).message}`);
    return tusError(500, 'The upload could not be stored; try again.');
  }
}
