import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { SessionExportController } from './session-export.controller.js';

/**
 * GET /api/sessions/:sessionId/export: everything kept about a session (its answers and its
 * analysis), for a data-access request. Above both sessions and analysis, whose views it reuses.
 */
@Module({ imports: [SessionsModule], controllers: [SessionExportController] })
export class SessionExportModule {}
