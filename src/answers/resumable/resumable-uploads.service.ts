import { Inject, Injectable, Logger, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Server, type Upload } from '@tus/server';
import type { Request, Response } from 'express';
import { ObjectId } from 'mongodb';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import { ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import type { ResumableUpload } from '../../audio/resumable-upload.schema.js';
import { UPLOAD_GREW, type UploadGrewEvent } from '../../audio/upload-growth.js';
import type { AuthenticatedUser } from '../../auth/authenticated-user.js';
import { API_RESPONSE_HEADERS } from '../../common/cors-options.js';
import { QUESTION_ID_PATTERN, QUESTION_ID_RULE, SESSION_ID_PATTERN, SESSION_ID_RULE } from '../../common/ids.js';
import { httpSettings, storageSettings, type HttpSettings, type StorageSettings } from '../../config/settings.js';
import { Clock } from '../../database/clock.js';
import { SessionsService } from '../../sessions/sessions.service.js';
import { assertOpenQuestion } from '../intake/answer-intake.js';
import { CompletionPending, GridFsTusStore, UPLOAD_NOT_FOUND, uploadObjectId } from './gridfs-tus.store.js';
import {
  COMPLETION_PENDING,
  DATABASE_BUSY,
  fromHttpException,
  isTransientDatabaseError,
  isTusError,
  RETRY_AFTER_SECONDS,
  tusError,
  tusTextSentence,
} from './tus-errors.js';
import { lengthRefusal } from './deferred-length.js';
import { currentTusRequest, withTusRequest } from './tus-request.js';
import { UploadCompletion } from './upload-completion.js';
import { readOnlyLocker, UploadLeaseLocker } from './upload-lease.locker.js';

export const UPLOADS_PATH = '/api/uploads';
const TUS_VERSION = '1.0.0';
const WITH_UPLOAD =
  'Creating an upload with its first bytes (creation-with-upload) is not offered here: create it without a body, then PATCH the bytes.';

/** The request as @tus/server hands it to hooks: a web Request that keeps the Node one. */
type TusRequest = globalThis.Request & {
  runtime?: { node?: { req: Request & { user?: AuthenticatedUser; id?: string }; res?: Response } };
};

const nodeRequest = (req: TusRequest) => req.runtime?.node?.req;

/**
 * Resumable uploads (tus 1.0: core, creation, creation-defer-length, termination, expiration) at
 * /api/uploads, over the GridFS store. An upload is bound at creation to the caller, a session and
 * a question (`Upload-Metadata: session_id, question_id`) and passes the multipart endpoint's
 * checks; once its last byte is in it goes through the same intake, so the final PATCH answers 202
 * with the same body as a multipart upload (the SHA-256 of the bytes stored). An upload created
 * with Upload-Defer-Length: 1 (a recording streamed while it is made) learns its length from the
 * PATCH that carries Upload-Length; until then the bytes it holds are what MAX_UPLOAD_BYTES bounds
 * (deferred-length.ts), and it cannot become the answer.
 */
@Injectable()
export class ResumableUploadsService implements OnModuleInit {
  private readonly logger = new Logger(ResumableUploadsService.name);
  private server!: Server;
  private store!: GridFsTusStore;

  constructor(
    private readonly documents: ResumableUploadDocuments,
    private readonly sessions: SessionsService,
    private readonly completion: UploadCompletion,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    @Inject(storageSettings.KEY) private readonly settings: StorageSettings,
    @Inject(httpSettings.KEY) private readonly http: HttpSettings,
  ) {}

  onModuleInit(): void {
    const locker = new UploadLeaseLocker(this.documents, this.clock, this.settings.resumableLeaseMs);
    const store = (this.store = new GridFsTusStore(this.documents, locker, this.completion, this.clock, {
      chunkSizeBytes: this.settings.chunkSizeBytes,
      expiryMs: this.settings.resumableExpiryMs,
      onGrew: (upload, offset) => this.grew(upload, offset),
    }));
    this.server = new Server({
      path: UPLOADS_PATH,
      datastore: store,
      relativeLocation: true,
      maxSize: this.settings.maxUploadBytes,
      locker: (req) => (req.method === 'HEAD' ? readOnlyLocker : locker),
      namingFunction: () => new ObjectId().toHexString(),
      onUploadCreate: (req, upload) => this.bind(req as TusRequest, upload),
      onIncomingRequest: (req, id) => this.assertOwner(req as TusRequest, id),
      onUploadFinish: (_req, upload) => this.finished(upload),
      onResponseError: (req, error) => this.asProblem(req as TusRequest, error),
      // @tus/server sets CORS headers on its answers: the same origins as the rest of the API
      allowedOrigins: (origin) => this.http.corsOrigins.includes(origin),
      exposedHeaders: API_RESPONSE_HEADERS,
    });
  }

  /**
   * A PATCH stored bytes of an upload still unfinished: whoever transcribes ahead may look now. Only
   * for a recording streamed while it is made (deferred length); a file whose length is known is
   * uploaded as fast as the link allows, and transcribed once it is in.
   */
  private grew(upload: ResumableUpload, offset: number): void {
    if (upload.size !== null) return;
    const event: UploadGrewEvent = {
      uploadId: upload._id,
      sessionId: upload.session_id,
      questionId: upload.question_id,
      offset,
      requestId: currentTusRequest()?.requestId ?? null,
    };
    this.events.emit(UPLOAD_GREW, event);
  }

  /** tus discovery (OPTIONS): the protocol version, exactly the extensions offered, the size limit. */
  discovery(): Record<string, string> {
    return {
      'Tus-Resumable': TUS_VERSION,
      'Tus-Version': TUS_VERSION,
      'Tus-Extension': this.store.extensions.join(','),
      'Tus-Max-Size': String(this.settings.maxUploadBytes),
    };
  }

  /**
   * What @tus/server's own `handle` does, but a PATCH's body reaches the store as the request's own
   * buffers: srvx makes it a web stream with Readable.toWeb, which copies every chunk it passes. On
   * a large upload those copies were a quarter of the garbage that raised the server's memory
   * between collections (test/e2e/large-resumable-upload.e2e-spec.ts).
   */
  async handle(req: Request, res: Response): Promise<void> {
    if (req.method === 'PATCH' && req.headers['upload-length'] !== undefined) await this.withoutRepeatedLength(req);
    const request = new NodeRequest({ req, res });
    if (req.method === 'PATCH') {
      Object.defineProperty(request, 'body', { value: ReadableStream.from(req), configurable: true });
    }
    const { user, id } = req as Request & { user?: AuthenticatedUser; id?: string };
    const state = { method: req.method, userId: user?.userId, requestId: id ?? null };
    const answer = await withTusRequest(state, () => this.server.handleWeb(request as globalThis.Request));
    await sendNodeResponse(res, answer);
  }

  /**
   * A client resuming an upload of deferred length sends Upload-Length with its last bytes, even
   * when the PATCH that was cut off had declared it already (tus-js-client does): the same length
   * again changes nothing, so it is dropped before @tus/server, which refuses any second one, sees
   * it. A different one is refused (deferred-length.ts). The owner check follows as for any PATCH.
   */
  private async withoutRepeatedLength(req: Request): Promise<void> {
    const id = uploadObjectId(req.path.split('/').at(-1) ?? '');
    const upload = id ? await this.documents.head(id) : null;
    if (upload?.size === null || upload?.size === undefined) return;
    if (String(upload.size) !== req.headers['upload-length']) return;
    delete req.headers['upload-length'];
    for (let i = req.rawHeaders.length - 2; i >= 0; i -= 2) {
      if (req.rawHeaders[i].toLowerCase() === 'upload-length') req.rawHeaders.splice(i, 2);
    }
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
    if (upload.size === 0) throw tusError(400, 'The recording is empty; record an answer and upload it again.');
    if (req.headers.get('content-type')?.startsWith('application/offset+octet-stream'))
      throw tusError(400, WITH_UPLOAD);
    try {
      const session = await this.sessions.getOwned(sessionId, userId, { status: 1, questions: 1 });
      assertOpenQuestion(session, questionId);
    } catch (error) {
      throw fromHttpException(error);
    }
    return { metadata: { session_id: sessionId, question_id: questionId, user_id: userId } };
  }

  /**
   * HEAD, PATCH, DELETE: only the user who created an upload may see or touch it. The fields read
   * here (a small projection) are all HEAD answers with: the store takes them from the request.
   */
  private async assertOwner(req: TusRequest, id: string): Promise<void> {
    if (req.method === 'POST') return;
    const userId = this.userOf(req);
    const objectId = uploadObjectId(id);
    const upload = objectId ? await this.documents.head(objectId) : null;
    if (!upload || upload.user_id !== userId) throw tusError(404, UPLOAD_NOT_FOUND);
    if (req.method === 'PATCH') {
      const refusal = lengthRefusal(upload, req.headers, this.settings.maxUploadBytes);
      if (refusal) throw refusal;
    }
    const request = currentTusRequest();
    if (request) request.upload = upload;
  }

  /** The last byte is in: the store made it the answer within its write (UploadCompletion), under its lease. */
  private finished(upload: Upload) {
    const accepted = currentTusRequest()?.accepted;
    if (!accepted) return Promise.reject(new Error(`upload ${upload.id} finished without being made the answer`));
    const headers = { 'Content-Type': 'application/json' };
    return Promise.resolve({ status_code: 202, body: JSON.stringify(accepted), headers });
  }

  private userOf(req: TusRequest): string {
    const user = nodeRequest(req)?.user;
    if (!user) throw fromHttpException(new UnauthorizedException('Sign in: send Authorization: Bearer <token>.'));
    return user.userId;
  }

  /**
   * Every refusal as problem details; the library's plain-text ones are wrapped. A completion cut
   * short, or a database that failed, is a 503 to come back from (with Retry-After, as a 423 is);
   * anything else is a bug: logged, and a 500.
   */
  private asProblem(req: TusRequest, error: unknown): { status_code: number; body: string } {
    const problem = this.problemFor(error);
    if (problem.status_code === 503 || problem.status_code === 423) {
      req.runtime?.node?.res?.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    }
    return problem;
  }

  private problemFor(error: unknown): { status_code: number; body: string } {
    if (isTusError(error)) {
      if (error.body.startsWith('{')) return error;
      return tusError(error.status_code, tusTextSentence(error.body) ?? error.body.trim());
    }
    if (error instanceof CompletionPending) {
      const cause = error.cause as Error;
      if (isTransientDatabaseError(cause)) this.logger.warn(`${error.message}; the next HEAD or PATCH finishes it`);
      else this.logger.error(`${error.message}; the next HEAD or PATCH finishes it`, cause?.stack);
      return tusError(503, COMPLETION_PENDING);
    }
    if (isTransientDatabaseError(error)) {
      this.logger.warn(`resumable upload: database unavailable: ${(error as Error).message}`);
      return tusError(503, DATABASE_BUSY);
    }
    this.logger.error(`resumable upload failed: ${(error as Error).message}`, (error as Error).stack);
    return tusError(500, 'The upload could not be stored; try again.');
  }
}
