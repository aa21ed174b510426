import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Controller, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { Response } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { ApiProblems, RETRY_AFTER_HEADER } from '../common/api-problems.decorator.js';
import { UserThrottlerGuard } from '../common/user-throttler.guard.js';
import { SessionParams } from '../sessions/dto/session-params.dto.js';
import { AnalysisService } from './analysis.service.js';
import { AnalyzeQuery } from './dto/analyze-query.dto.js';
import { AnalysisPendingView, AnalysisResultView, TranscriptionFailedProblemView } from './dto/analysis-views.dto.js';

@ApiTags('analysis')
@ApiBearerAuth()
@Controller('api/analyze')
export class AnalyzeController {
  constructor(private readonly analysis: AnalysisService) {}

  /**
   * 200 with scores, 202 (Retry-After) while transcriptions run, 409 if any failed. With
   * `rescore=true` an analyzed session is scored again (the owner only; the replaced analysis stays
   * in the export as previous_analysis).
   */
  @Post(':sessionId')
  @HttpCode(200)
  @UseGuards(UserThrottlerGuard)
  @SkipThrottle({ uploads: true })
  @ApiOkResponse({
    type: AnalysisResultView,
    description: "Scored: the final score and each answer's score, feedback and transcript.",
  })
  @ApiAcceptedResponse({
    type: AnalysisPendingView,
    description: 'Transcriptions still running; ask again after Retry-After seconds.',
    headers: RETRY_AFTER_HEADER,
  })
  @ApiProblems(
    400,
    401,
    404,
    [409, 'A transcription failed; retry or re-upload that answer first.', TranscriptionFailedProblemView],
    [429, 'Over RATE_LIMIT_ANALYZE_PER_MINUTE for this user.'],
  )
  async analyze(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: SessionParams,
    @Query() query: AnalyzeQuery,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AnalysisResultView | AnalysisPendingView> {
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const outcome = await this.analysis.analyze(
      user.userId,
      params.sessionId,
      query.wait ?? 0,
      gone.signal,
      query.rescore ?? false,
    );
    res.status(outcome.httpStatus);
    if (outcome.retryAfter !== undefined) res.setHeader('Retry-After', String(outcome.retryAfter));
    return outcome.body;
  }
}
