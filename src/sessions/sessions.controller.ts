import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { CreateSessionDto } from './dto/create-session.dto.js';
import { ListSessionsQuery } from './dto/list-sessions.dto.js';
import { SessionParams } from './dto/session-params.dto.js';
import { sessionExport, sessionView } from './session.view.js';
import { SessionEventStream } from './session-event-stream.js';
import { SessionsService } from './sessions.service.js';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('api/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly eventStream: SessionEventStream,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateSessionDto) {
    const session = await this.sessions.create(user.userId, dto);
    const view = sessionView(session);
    return {
      session_id: view.session_id,
      questions: view.questions,
      language: view.language,
      status: view.status,
      created_at: view.created_at,
    };
  }

  @Get()
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: ListSessionsQuery) {
    return this.sessions.list(user.userId, query);
  }

  /** Erases the session, its transcripts and every byte of its audio. */
  @Delete(':sessionId')
  @HttpCode(204)
  async erase(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionParams): Promise<void> {
    await this.sessions.erase(params.sessionId, user.userId);
  }

  /** The session's data as JSON for a data-access request (never audio). */
  @Get(':sessionId/export')
  async export(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: SessionParams,
    @Res({ passthrough: true }) res: Response,
  ) {
    const session = await this.sessions.getOwned(params.sessionId, user.userId);
    res.setHeader('Content-Disposition', `attachment; filename="interview-session-${params.sessionId}.json"`);
    return sessionExport(session);
  }

  /** Webhook events of this session and every attempt to deliver them (status code, error, time). */
  @Get(':sessionId/webhook-deliveries')
  webhookDeliveries(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionParams) {
    return this.sessions.webhookDeliveries(params.sessionId, user.userId);
  }

  @Get(':sessionId')
  async get(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionParams) {
    return sessionView(await this.sessions.getOwned(params.sessionId, user.userId));
  }

  /** Server-Sent Events: the session's answers as they change, on whichever server they change. */
  @Get(':sessionId/events')
  @ApiProduces('text/event-stream')
  events(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: SessionParams,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    return this.eventStream.stream(user.userId, params.sessionId, req, res);
  }
}
