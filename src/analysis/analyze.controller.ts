import { Controller, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import type { Response } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { UserThrottlerGuard } from '../common/user-throttler.guard.js';
import { SessionParams } from '../sessions/dto/session-params.dto.js';
import { AnalysisService } from './analysis.service.js';
import { AnalyzeQuery } from './dto/analyze-query.dto.js';

@Controller('api/analyze')
export class AnalyzeController {
  constructor(private readonly analysis: AnalysisService) {}

  /** 200 with scores, 202 (Retry-After) while transcriptions run, 409 if any failed. */
  @Post(':sessionId')
  @HttpCode(200)
  @UseGuards(UserThrottlerGuard)
  @SkipThrottle({ uploads: true })
  async analyze(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: SessionParams,
    @Query() query: AnalyzeQuery,
    @Res({ passthrough: true }) res: Response,
  ) {
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const outcome = await this.analysis.analyze(user.userId, params.sessionId, query.wait ?? 0, gone.signal);
    res.status(outcome.httpStatus);
    if (outcome.retryAfter !== undefined) res.setHeader('Retry-After', String(outcome.retryAfter));
    return outcome.body;
  }
}
