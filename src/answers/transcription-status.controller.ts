import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { AnswerParams, SessionParams } from '../sessions/dto/session-params.dto.js';
import { AnswersService } from './answers.service.js';

@ApiTags('answers')
@ApiBearerAuth()
@Controller('api')
export class TranscriptionStatusController {
  constructor(private readonly answers: AnswersService) {}

  @Get('transcription-status/:sessionId')
  sessionStatus(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionParams) {
    return this.answers.sessionStatus(user.userId, params.sessionId);
  }

  @Get('transcription-status/:sessionId/:questionId')
  answerStatus(@CurrentUser() user: AuthenticatedUser, @Param() params: AnswerParams) {
    return this.answers.status(user.userId, params.sessionId, params.questionId);
  }

  @Post('transcription-retry/:sessionId/:questionId')
  @HttpCode(202)
  retry(@CurrentUser() user: AuthenticatedUser, @Param() params: AnswerParams) {
    return this.answers.retry(user.userId, params.sessionId, params.questionId);
  }
}
