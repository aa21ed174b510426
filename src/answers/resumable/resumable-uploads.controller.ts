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
import { Controller, Delete, Head, Param, Patch, Post, Req, Res, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { ApiProblems } from '../../common/api-problems.decorator.js';
import { PROBLEM_JSON } from '../../common/problem-details.js';
import { UserThrottlerGuard } from '../../common/user-throttler.guard.js';
import { UploadAcceptedView } from '../dto/answer-views.dto.js';
import { ResumableUploadsService } from './resumable-uploads.service.js';

const TUS_RESUMABLE = { name: 'Tus-Resumable', required: true, description: 'The tus protocol version: 1.0.0.' };
const header = (description: string, type: 'string' | 'integer' = 'string', required = true) => ({
  description,
  required,
  schema: { type },
});
const OFFSET = { 'Upload-Offset': header('Bytes the server holds.', 'integer'), 'Tus-Resumable': header('1.0.0') };
const UPLOAD_ID = { name: 'uploadId', description: 'The id in the Location the creation answered with.' };

/**
 * tus 1.0 resumable uploads (https://tus.io/protocols/resumable-upload): the protocol itself is
 * @tus/server's; this controller only lets the JWT guard and the rate limit run first. Errors come
 * as problem details, like every other route's.
 */
@ApiTags('answers')
@ApiBearerAuth()
@Controller('api/uploads')
export class ResumableUploadsController {
  constructor(private readonly uploads: ResumableUploadsService) {}

  /** Creates an upload of `Upload-Length` bytes for one answer (`Upload-Metadata: session_id, question_id`). */
  @Post()
  @ApiHeader(TUS_RESUMABLE)
  @ApiHeader({ name: 'Upload-Length', required: true, description: 'Size of the recording in bytes.' })
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
    [400, 'Missing Upload-Length, or Upload-Metadata without session_id and question_id.'],
    401,
    404,
    [409, 'The session is analyzed or being analyzed.'],
    [412, 'No Tus-Resumable header.'],
    413,
    [429, 'Over RATE_LIMIT_UPLOADS_PER_MINUTE for this user.'],
  )
  @UseGuards(UserThrottlerGuard)
  @SkipThrottle({ analyze: true })
  create(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.pass(req, res);
  }

  /** The offset to resume from. */
  @Head(':uploadId')
  @ApiParam(UPLOAD_ID)
  @ApiHeader(TUS_RESUMABLE)
  @ApiOkResponse({
    description: 'The upload; send the rest from Upload-Offset.',
    headers: { ...OFFSET, 'Upload-Length': header('Size of the recording.', 'integer') },
  })
  @ApiProblems(401, [404, 'No such upload for this user (or it was completed).'], [410, 'Expired.'])
  offset(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.pass(req, res);
  }

  /** Appends bytes at `Upload-Offset`. The request that brings the last byte answers 202 like a multipart upload. */
  @Patch(':uploadId')
  @ApiParam(UPLOAD_ID)
  @ApiHeader(TUS_RESUMABLE)
  @ApiHeader({ name: 'Upload-Offset', required: true, description: 'Where these bytes start: the HEAD offset.' })
  @ApiConsumes('application/offset+octet-stream')
  @ApiBody({ description: 'The next bytes of the recording.', schema: { type: 'string', format: 'binary' } })
  @ApiNoContentResponse({ description: 'Stored; more bytes to come.', headers: OFFSET })
  @ApiAcceptedResponse({
    type: UploadAcceptedView,
    description: 'The last byte is in: stored and queued for transcription.',
    headers: OFFSET,
  })
  @ApiProblems(
    [400, 'The first bytes are not a supported audio recording (the upload is removed).'],
    401,
    [404, 'No such upload for this user.'],
    [409, 'Upload-Offset is not where the upload is, or the session closed meanwhile.'],
    [410, 'Expired.'],
    413,
    [415, 'Content-Type must be application/offset+octet-stream.'],
    [423, 'Another request is writing this upload.'],
  )
  append(@Param('uploadId') _id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.pass(req, res);
  }

  /** Abandons an unfinished upload (tus termination): its bytes are deleted. */
  @Delete(':uploadId')
  @ApiParam(UPLOAD_ID)
  @ApiHeader(TUS_RESUMABLE)
  @ApiNoContentResponse({ description: 'Removed.', headers: { 'Tus-Resumable': header('1.0.0') } })
  @ApiProblems(401, [404, 'No such unfinished upload for this user.'], [423, 'Another request is writing it.'])
  terminate(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.pass(req, res);
  }

  /** @tus/server writes its refusals as text; ours are problem JSON (tus-errors.ts), so they say so. */
  private pass(req: Request, res: Response): Promise<void> {
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      if (status >= 400) {
        const headers = rest.at(-1);
        if (rest.length > 0 && typeof headers === 'object' && headers !== null) {
          rest[rest.length - 1] = withoutContentType(headers);
        }
        res.setHeader('Content-Type', PROBLEM_JSON);
      }
      return writeHead(status, ...rest);
    }) as Response['writeHead'];
    return this.uploads.handle(req, res);
  }
}

const isContentType = (name: unknown) => String(name).toLowerCase() === 'content-type';

/** Response headers in any of the shapes Node's writeHead takes, without Content-Type. */
function withoutContentType(headers: object): unknown {
  if (!Array.isArray(headers)) {
    return Object.fromEntries(Object.entries(headers).filter(([name]) => !isContentType(name)));
  }
  if (headers.length > 0 && Array.isArray(headers[0])) {
    return (headers as [string, string][]).filter(([name]) => !isContentType(name));
  }
  const flat: unknown[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!isContentType(headers[i])) flat.push(headers[i], headers[i + 1]);
  }
  return flat;
}
