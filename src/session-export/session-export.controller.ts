import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { deliverySettings, type DeliverySettings } from '../config/settings.js';
import { SessionParams } from '../sessions/dto/session-params.dto.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { SessionExportView } from './dto/session-export.dto.js';
import { sessionExport } from './session-export.js';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('api/sessions')
export class SessionExportController {
  constructor(
    private readonly sessions: SessionsService,
    @Inject(deliverySettings.KEY) private readonly delivery: DeliverySettings,
  ) {}

  /** The session's data as JSON for a data-access request (never audio). */
  @Get(':sessionId/export')
  @ApiOkResponse({
    type: SessionExportView,
    description: 'A JSON download.',
    headers: {
      'Content-Disposition': {
        description: 'attachment; filename="interview-session-<id>.json"',
        required: true,
        schema: { type: 'string' },
      },
    },
  })
  @ApiProblems(400, 401, 404)
  async export(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: SessionParams,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SessionExportView> {
    const session = await this.sessions.getOwned(params.sessionId, user.userId);
    res.setHeader('Content-Disposition', `attachment; filename="interview-session-${params.sessionId}.json"`);
    return sessionExport(session, this.delivery.pauseThresholdSeconds);
  }
}
