import { Controller, Delete, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { UserThrottlerGuard } from '../common/user-throttler.guard.js';
import { AnswerParams } from '../sessions/dto/session-params.dto.js';
import { AnswersService } from './answers.service.js';

@Controller('api/upload-answer')
export class UploadController {
  constructor(private readonly answers: AnswersService) {}

  /** multipart/form-data with one file part named "audio"; streamed straight into GridFS. */
  @Post(':sessionId/:questionId')
  @HttpCode(202)
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
