import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { CreateSessionDto } from './dto/create-session.dto.js';
import { SessionParams } from './dto/session-params.dto.js';
import { sessionView } from './session.view.js';
import { SessionsService } from './sessions.service.js';

@Controller('api/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @HttpCode(201)
  async create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateSessionDto) {
    const session = await this.sessions.create(user.userId, dto);
    const view = sessionView(session);
    return { session_id: view.session_id, questions: view.questions, status: view.status, created_at: view.created_at };
  }

  @Get(':sessionId')
  async get(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionParams) {
    return sessionView(await this.sessions.getOwned(params.sessionId, user.userId));
  }
}
