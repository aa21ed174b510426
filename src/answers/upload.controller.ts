import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiNoContentResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Controller, Delete, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { UserThrottlerGuard } from '../common/user-throttler.guard.js';
import { UserLeases } from '../database/user-leases.js';
import { AnswerParams } from '../sessions/dto/session-params.dto.js';
import { AnswersService } from './answers.service.js';
import { UploadAcceptedView } from './dto/answer-views.dto.js';
import { UploadIntake } from './intake/upload-intake.js';

@ApiTags('answers')
@ApiBearerAuth()
@Controller('api/upload-answer')
export class UploadController {
  constructor(
    private readonly answers: AnswersService,
    private readonly leases: UserLeases,
    private readonly intake: UploadIntake,
  ) {}

  /** multipart/form-data with one file part named "audio"; streamed straight into GridFS. */
  @Post(':sessionId/:questionId')
  @HttpCode(202)
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    description:
      'One file part named "audio" (webm, ogg, wav, mp3, m4a, flac...); the content is checked, not the name.',
    schema: { type: 'object', required: ['audio'], properties: { audio: { type: 'string', format: 'binary' } } },
  })
  @ApiAcceptedResponse({ type: UploadAcceptedView, description: 'Stored and queued for transcription.' })
  @ApiProblems(
    [400, 'No "audio" part, an empty or second one, a file that is not audio, or a malformed multipart body.'],
    401,
    404,
    [409, 'The session is analyzed or being analyzed.'],
    413,
    [429, 'Over RATE_LIMIT_UPLOADS_PER_MINUTE, or MAX_CONCURRENT_UPLOADS_PER_USER uploads already in flight.'],
  )
  @UseGuards(UserThrottlerGuard)
  @SkipThrottle({ analyze: true })
  async upload(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: AnswerParams,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UploadAcceptedView> {
    // its turn first (UPLOAD_INTAKE_CONCURRENCY), then the user's place: both held to the end
    const endTurn = await this.intake.admit(res);
    try {
      const lease = await this.leases.acquire(user.userId, 'upload');
      try {
        return await this.answers.upload(user.userId, params.sessionId, params.questionId, req);
      } finally {
        await lease.release();
      }
    } finally {
      endTurn();
    }
  }

  /** Withdraws the answer: audio and transcript are deleted. */
  @Delete(':sessionId/:questionId')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Withdrawn.' })
  @ApiProblems(
    400,
    401,
    [404, 'No such session or question, or nothing was uploaded for it.'],
    [409, 'The session is analyzed or being analyzed.'],
  )
  async withdraw(@CurrentUser() user: AuthenticatedUser, @Param() params: AnswerParams): Promise<void> {
    await this.answers.withdraw(user.userId, params.sessionId, params.questionId);
  }
}
