import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { AnswerStatusView, SessionTranscriptionStatusView } from '../sessions/dto/session-views.dto.js';
import { AnswerParams, SessionParams } from '../sessions/dto/session-params.dto.js';
import { AnswersService } from './answers.service.js';
import { RetryAcceptedView } from './dto/answer-views.dto.js';

@ApiTags('answers')
@ApiBearerAuth()
@Controller('api')
export class TranscriptionStatusController {
  constructor(private readonly answers: AnswersService) {}

  @Get('transcription-status/:sessionId')
  @ApiOkResponse({ type: SessionTranscriptionStatusView, description: 'Every uploaded answer, in question order.' })
  @ApiProblems(400, 401, 404)
  sessionStatus(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: SessionParams,
  ): Promise<SessionTranscriptionStatusView> {
    return this.answers.sessionStatus(user.userId, params.sessionId);
  }

  @Get('transcription-status/:sessionId/:questionId')
  @ApiOkResponse({ type: AnswerStatusView })
  @ApiProblems(400, 401, [404, 'No such session or question, or nothing was uploaded for it.'])
  answerStatus(@CurrentUser() user: AuthenticatedUser, @Param() params: AnswerParams): Promise<AnswerStatusView> {
    return this.answers.status(user.userId, params.sessionId, params.questionId);
  }

  @Post('transcription-retry/:sessionId/:questionId')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: RetryAcceptedView, description: 'Queued for transcription again.' })
  @ApiProblems(
    400,
    401,
    [404, 'No such session or question, or nothing was uploaded for it.'],
    [409, 'The answer is not failed, or the session is analyzed or being analyzed.'],
    410,
  )
  retry(@CurrentUser() user: AuthenticatedUser, @Param() params: AnswerParams): Promise<RetryAcceptedView> {
    return this.answers.retry(user.userId, params.sessionId, params.questionId);
  }
}
