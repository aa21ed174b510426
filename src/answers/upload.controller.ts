import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiConsumes, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Controller, Delete, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { UserThrottlerGuard } from '../common/user-throttler.guard.js';
import { AnswerParams } from '../sessions/dto/session-params.dto.js';
import { AnswersService } from './answers.service.js';

@ApiTags('answers')
@ApiBearerAuth()
@Controller('api/upload-answer')
export class UploadController {
  constructor(private readonly answers: AnswersService) {}

  /** multipart/form-data with one file part named "audio"; streamed straight into GridFS. */
  @Post(':sessionId/:questionId')
  @HttpCode(202)
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    description:
      'One file part named "audio" (webm, ogg, wav, mp3, m4a, flac...); the content is checked, not the name.',
    schema: { type: 'object', required: ['audio'], properties: { audio: { type: 'string', format: 'binary' } } },
  })
  @ApiAcceptedResponse({ description: 'Stored and queued for transcription.' })
  @ApiResponse({ status: 413, description: 'Larger than MAX_UPLOAD_BYTES.' })
  @ApiResponse({ status: 415, description: 'Not audio, or a format the provider cannot read.' })
  @ApiResponse({ status: 409, description: 'The session is analyzed or being analyzed.' })
  @UseGuards(UserThrottlerGuard)
  @SkipThrottle({ analyze: true })
  upload(@CurrentUser() user: AuthenticatedUser, @Param() params: AnswerParams, @Req() req: Request) {
    return this.answers.upload(user.userId, params.sessionId, params.questionId, req);
  }

  /** Withdraws the answer: audio and transcript are deleted. */
  @Delete(':sessionId/:questionId')
  @HttpCode(204)
  async withdraw(@CurrentUser() user: AuthenticatedUser, @Param() params: AnswerParams): Promise<void> {
    await this.answers.withdraw(user.userId, params.sessionId, params.questionId);
  }
}
