import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Controller, Delete, Head, Options, Param, Patch, Post, Req, Res, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { ApiProblems } from '../../common/api-problems.decorator.js';
import type { AuthenticatedUser } from '../../auth/authenticated-user.js';
import { CurrentUser } from '../../auth/current-user.decorator.js';
import { Public } from '../../auth/public.decorator.js';
import { UserThrottlerGuard } from '../../common/user-throttler.guard.js';
import { watchClientLeft } from '../../common/client-left.js';
import { UserLeases } from '../../database/user-leases.js';
import { UploadIntake } from '../intake/upload-intake.js';
import { UploadAcceptedView } from '../dto/answer-views.dto.js';
import { ResumableUploadsService } from './resumable-uploads.service.js';
import { refusalsAsProblems } from './tus-errors.js';

const TUS_RESUMABLE = { name: 'Tus-Resumable', required: true, description: 'The tus protocol version: 1.0.0.' };
const header = (description: string, type: 'string' | 'integer' = 'string', required = true) => ({
  description,
  required,
  schema: { type },
});
const OFFSET = { 'Upload-Offset': header('Bytes the server holds.', 'integer'), 'Tus-Resumable': header('1.0.0') };
/** @tus/server refuses any request without the protocol version before anything else. */
const NO_TUS_VERSION: [number, string] = [412, 'No Tus-Resumable: 1.0.0 header.'];
const BAD_TUS_HEADER: [number, string] = [400, 'A tus header is not valid; `detail` says which and what it must hold.'];
const UPLOAD_ID = { name: 'uploadId', description: 'The id in the Location the creation answered with.' };
const DISCOVERY = {
  description: 'What this server speaks (tus 1.0 discovery); a CORS preflight gets these headers too.',
  headers: {
    'Tus-Resumable': header('1.0.0'),
    'Tus-Version': header('The protocol versions spoken: 1.0.0.'),
    'Tus-Extension': header('The extensions offered: creation,creation-defer-length,termination,expiration.'),
    'Tus-Max-Size': header('The largest upload accepted, in bytes (MAX_UPLOAD_BYTES).', 'integer'),
  },
};

/**
 * tus 1.0 resumable uploads (https://tus.io/protocols/resumable-upload): the protocol itself is
 * @tus/server's; this controller only lets the JWT guard and the rate limit run first. Errors come
 * as problem details, like every other route's, @tus/server's own plain-text refusals included.
 */
@ApiTags('answers')
@Controller('api/uploads')
export class ResumableUploadsController {
  constructor(
    private readonly uploads: ResumableUploadsService,
    private readonly leases: UserLeases,
    private readonly intake: UploadIntake,
  ) {}

  /**
   * tus discovery: what this server speaks. No sign-in: a browser's CORS preflight carries no
   * credentials, and the answer is the same for everyone (no upload, no user, no database).
   */
  @Options()
  @Public()
  @ApiNoContentResponse(DISCOVERY)
  discover(@Res() res: Response): void {
    res.status(204).set(this.uploads.discovery()).end();
  }

  /** The same discovery, asked of an upload's own URL (where a preflight for its HEAD or PATCH goes). */
  @Options(':uploadId')
  @Public()
  @ApiParam(UPLOAD_ID)
  @ApiNoContentResponse(DISCOVERY)
  discoverAt(@Res() res: Response): void {
    res.status(204).set(this.uploads.discovery()).end();
  }

  /**
   * Creates an upload of `Upload-Length` bytes for one answer (`Upload-Metadata: session_id,
   * question_id`), or, with `Upload-Defer-Length: 1`, of a length the last PATCH tells (a recording
   * uploaded while it is made).
   */
  @Post()
  @ApiBearerAuth()
  @ApiHeader(TUS_RESUMABLE)
  @ApiHeader({
    name: 'Upload-Length',
    required: false,
    description: 'Size of the recording in bytes; this or Upload-Defer-Length.',
  })
  @ApiHeader({
    name: 'Upload-Defer-Length',
    required: false,
    description: '1: the length is not known yet (tus creation-defer-length); a later PATCH sends Upload-Length.',
  })
  @ApiHeader({
    name: 'Upload-Metadata',
    required: true,
    description: 'tus metadata: `session_id <base64>,question_id <base64>`.',
  })
  @ApiCreatedResponse({
    description: 'Created; PATCH the bytes to Location.',
    headers: {
      Location: header('The upload, e.g. /api/uploads/<id>.'),
      'Tus-Resumable': header('1.0.0'),
      'Upload-Expires': header('When an unfinished upload is removed (RESUMABLE_UPLOAD_EXPIRY_MS).', 'string', false),
    },
  })
  @ApiProblems(
    [
      400,
      'A tus header is not valid, neither Upload-Length nor Upload-Defer-Length: 1 (or both) was sent, Upload-Metadata lacks session_id or question_id, or a body came with the creation (creation-with-upload is not offered).',
    ],
    401,
    404,
    [409, 'The session is analyzed or being analyzed.'],
    NO_TUS_VERSION,
    413,
    [429, 'Over RATE_LIMIT_UPLOADS_PER_MINUTE for this user.'],
  )
  @UseGuards(UserThrottlerGuard)
  @SkipThrottle({ analyze: true })
  create(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.pass(req, res);
  }

  /**
   * The offset to resume from: one small read. Rate-limited per user in a bucket of its own
   * (RATE_LIMIT_UPLOAD_CHECKS_PER_MINUTE); it takes none of the user's upload places.
   */
  @Head(':uploadId')
  @ApiBearerAuth()
  @ApiParam(UPLOAD_ID)
  @ApiHeader(TUS_RESUMABLE)
  @ApiOkResponse({
    description:
      'The upload; send the rest from Upload-Offset. Upload-Offset = Upload-Length: every byte is in and the ' +
      'recording is the answer (a completion an earlier request left unfinished is finished first).',
    headers: {
      ...OFFSET,
      'Upload-Length': header('Size of the recording, once known.', 'integer', false),
      'Upload-Defer-Length': header(
        '1 while the length is not known yet (sent instead of Upload-Length).',
        'integer',
        false,
      ),
    },
  })
  @ApiProblems(
    BAD_TUS_HEADER,
    401,
    [404, 'No such upload for this user: finished before (see the session), refused and removed, or never made.'],
    [410, 'Expired.'],
    NO_TUS_VERSION,
    [
      423,
      'Another request is writing the upload (its offset is about to move), or every byte is in but it could not be made the answer yet (another request is at it, or the database failed): ask again after Retry-After.',
    ],
    [429, 'Over RATE_LIMIT_UPLOAD_CHECKS_PER_MINUTE HEADs for this user.'],
  )
  @UseGuards(UserThrottlerGuard)
  @SkipThrottle({ uploads: true, analyze: true })
  offset(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.pass(req, res);
  }

  /**
   * Appends bytes at `Upload-Offset`. The request that brings the last byte answers 202 like a
   * multipart upload; an empty PATCH at the full length finishes an upload a failure left complete.
   * An upload created with a deferred length learns it from the PATCH that carries Upload-Length
   * (with the last bytes, or alone); until then MAX_UPLOAD_BYTES bounds the bytes it holds.
   */
  @Patch(':uploadId')
  @ApiBearerAuth()
  @ApiParam(UPLOAD_ID)
  @ApiHeader(TUS_RESUMABLE)
  @ApiHeader({ name: 'Upload-Offset', required: true, description: 'Where these bytes start: the HEAD offset.' })
  @ApiHeader({
    name: 'Upload-Length',
    required: false,
    description:
      'The whole length, sent once, only to an upload created with Upload-Defer-Length: 1 (usually with its last bytes).',
  })
  @ApiConsumes('application/offset+octet-stream')
  @ApiBody({ description: 'The next bytes of the recording.', schema: { type: 'string', format: 'binary' } })
  @ApiNoContentResponse({ description: 'Stored; more bytes to come.', headers: OFFSET })
  @ApiAcceptedResponse({
    type: UploadAcceptedView,
    description: 'The last byte is in: stored and queued for transcription.',
    headers: OFFSET,
  })
  @ApiProblems(
    [
      400,
      'A tus header is not valid, Upload-Length is sent to an upload whose length is known, is 0 or below its offset, or the first bytes are not a supported audio recording (the upload is removed).',
    ],
    401,
    [404, 'No such upload for this user.'],
    [
      409,
      'Upload-Offset is not where the upload is, the session closed meanwhile, or a newer answer to the question arrived while this one was being finished (the upload is removed).',
    ],
    [403, 'No Upload-Offset or no Content-Type header (tus answers these with 403).'],
    [410, 'Expired.'],
    NO_TUS_VERSION,
    [
      413,
      'The upload would be larger than MAX_UPLOAD_BYTES: its Upload-Length, or, while its length is deferred, the bytes it holds and these.',
    ],
    [415, 'Content-Type must be application/offset+octet-stream.'],
    [423, 'Another request is writing this upload.'],
    [429, 'MAX_CONCURRENT_UPLOADS_PER_USER uploads of this user are in flight already.'],
    [
      503,
      'The upload could not be finished, or the database is unavailable; nothing that arrived is lost: ask with HEAD after Retry-After (it finishes an upload whose bytes are all in) and resume.',
    ],
  )
  async append(
    @Param('uploadId') _id: string,
    @CurrentUser() user: AuthenticatedUser,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    // each PATCH waits its turn (UPLOAD_INTAKE_CONCURRENCY), then holds one of the user's upload
    // places while its bytes arrive; both are given back when the response closes
    const endTurn = await this.intake.admit(res);
    const clientLeft = watchClientLeft(res);
    const lease = await this.leases.acquire(user.userId, 'upload').catch((error: unknown) => {
      endTurn();
      throw error;
    });
    if (clientLeft()) {
      endTurn();
      await lease.release(); // the client left while the place was taken
      return;
    }
    res.once('close', () => {
      endTurn();
      void lease.release();
    });
    return this.pass(req, res);
  }

  /** Abandons an unfinished upload (tus termination): its bytes are deleted. */
  @Delete(':uploadId')
  @ApiBearerAuth()
  @ApiParam(UPLOAD_ID)
  @ApiHeader(TUS_RESUMABLE)
  @ApiNoContentResponse({ description: 'Removed.', headers: { 'Tus-Resumable': header('1.0.0') } })
  @ApiProblems(BAD_TUS_HEADER, 401, [404, 'No such unfinished upload for this user.'], NO_TUS_VERSION, [
    423,
    'Another request is writing it.',
  ])
  terminate(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.pass(req, res);
  }

  private pass(req: Request, res: Response): Promise<void> {
    refusalsAsProblems(res);
    return this.uploads.handle(req, res);
  }
}
