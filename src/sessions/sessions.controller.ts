import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { WebhookDeliveriesView } from '../webhooks/dto/webhook-deliveries.dto.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { CreateSessionDto } from './dto/create-session.dto.js';
import { ListSessionsQuery } from './dto/list-sessions.dto.js';
import { SessionParams } from './dto/session-params.dto.js';
import {
  AnalyzedEventView,
  AnswerStatusView,
  CreatedSessionView,
  ReadyEventView,
  SessionListView,
  SessionView,
  SnapshotEventView,
} from './dto/session-views.dto.js';
import { SESSION_EVENTS_DESCRIPTION } from './session-events.openapi.js';
import { sessionView } from './session.view.js';
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
  @ApiCreatedResponse({ type: CreatedSessionView, description: 'The session, with its question ids.' })
  @ApiProblems(400, 401, [409, 'The user keeps MAX_SESSIONS_PER_USER sessions already; erase some first.'])
  async create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateSessionDto): Promise<CreatedSessionView> {
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
  @ApiOkResponse({ type: SessionListView, description: 'A page of sessions, newest first.' })
  @ApiProblems(400, 401)
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: ListSessionsQuery): Promise<SessionListView> {
    return this.sessions.list(user.userId, query);
  }

  /** Erases the session, its transcripts and every byte of its audio. */
  @Delete(':sessionId')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Erased.' })
  @ApiProblems(400, 401, 404)
  async erase(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionParams): Promise<void> {
    await this.sessions.erase(params.sessionId, user.userId);
  }

  /** Webhook events of this session and every attempt to deliver them (status code, error, time). */
  @Get(':sessionId/webhook-deliveries')
  @ApiOkResponse({ type: WebhookDeliveriesView, description: 'Oldest first.' })
  @ApiProblems(400, 401, 404)
  webhookDeliveries(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: SessionParams,
  ): Promise<WebhookDeliveriesView> {
    return this.sessions.webhookDeliveries(params.sessionId, user.userId);
  }

  @Get(':sessionId')
  @ApiOkResponse({ type: SessionView, description: 'The session with its answers (never audio).' })
  @ApiProblems(400, 401, 404)
  async get(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionParams): Promise<SessionView> {
    return sessionView(await this.sessions.getOwned(params.sessionId, user.userId));
  }

  /** Server-Sent Events: the session's answers as they change, on whichever server they change. */
  @Get(':sessionId/events')
  @ApiProduces('text/event-stream')
  @ApiExtraModels(SnapshotEventView, AnswerStatusView, ReadyEventView, AnalyzedEventView)
  @ApiOkResponse({
    description: SESSION_EVENTS_DESCRIPTION,
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiProblems(400, 401, 404, [429, 'MAX_EVENT_STREAMS_PER_USER streams of this user are open already.'])
  events(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionParams, @Res() res: Response) {
    return this.eventStream.stream(user.userId, params.sessionId, res);
  }
}
