import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { Types } from 'mongoose';
import { toObjectId } from '../common/object-id.js';
import type { CreateSessionDto } from './dto/create-session.dto.js';
import type { ListSessionsQuery } from './dto/list-sessions.dto.js';
import { SessionEraser } from './session-eraser.js';
import { sessionSummaryView } from './session.view.js';
import type { Question, SessionRecord } from './session.schema.js';
import { SessionStore } from './session.store.js';
import { WebhookDeliveryStore } from '../webhooks/webhook-delivery.store.js';
import { WebhookUrlPolicy } from '../webhooks/webhook-url-policy.js';

export const SESSION_NOT_FOUND = 'No interview session with this id exists for your account.';

@Injectable()
export class SessionsService {
  constructor(
    private readonly store: SessionStore,
    private readonly eraser: SessionEraser,
    private readonly webhookUrls: WebhookUrlPolicy,
    private readonly webhookStore: WebhookDeliveryStore,
  ) {}

  /** The caller's sessions, newest first, a page at a time. */
  async list(userId: string, query: ListSessionsQuery) {
    const limit = query.limit ?? 20;
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const page = await this.store.listOwned(userId, { limit: limit + 1, status: query.status, before });
    const sessions = page.slice(0, limit);
    const last = sessions.at(-1);
    return {
      sessions: sessions.map(sessionSummaryView),
      next_cursor: page.length > limit && last ? encodeCursor(last.created_at, last._id) : null,
    };
  }

  /** Erases the session and all of its audio; 404 when it is not the caller's. */
  async erase(sessionId: string, userId: string): Promise<void> {
    if (!(await this.eraser.erase(toObjectId(sessionId), userId))) throw new NotFoundException(SESSION_NOT_FOUND);
  }

  async create(userId: string, dto: CreateSessionDto): Promise<SessionRecord> {
    const questions = this.assignQuestionIds(dto);
    const webhookUrl = dto.webhook_url === undefined ? null : await this.webhookUrls.assertAcceptable(dto.webhook_url);
    return this.store.create(userId, dto.title?.trim() ?? '', questions, webhookUrl, dto.language ?? null);
  }

  /** Every stored webhook event of the caller's session, with each delivery attempt. */
  async webhookDeliveries(sessionId: string, userId: string) {
    const session = await this.getOwned(sessionId, userId, { _id: 1 });
    const deliveries = await this.webhookStore.forSession(session._id);
    return {
      deliveries: deliveries.map((d) => ({
        id: d._id,
        event: d.event,
        url: d.url,
        status: d.status,
        created_at: d.created_at.toISOString(),
        delivered_at: d.delivered_at?.toISOString() ?? null,
        next_attempt_at: d.status === 'pending' ? (d.next_attempt_at?.toISOString() ?? null) : null,
        attempts: d.attempts.map((a) => ({
          at: a.at.toISOString(),
          status_code: a.status_code,
          error: a.error,
          duration_ms: a.duration_ms,
        })),
      })),
    };
  }

  /** The caller's session; another user's session is reported exactly like a missing one. */
  async getOwned(sessionId: string, userId: string, projection?: Record<string, 0 | 1>): Promise<SessionRecord> {
    const session = await this.store.findOwned(toObjectId(sessionId), userId, projection);
    if (!session) throw new NotFoundException(SESSION_NOT_FOUND);
    return session;
  }

  private assignQuestionIds(dto: CreateSessionDto): Question[] {
    const given = new Set<string>();
    for (const question of dto.questions) {
      if (question.question_id === undefined) continue;
      if (given.has(question.question_id)) {
        throw new BadRequestException(
          `question_id "${question.question_id}" appears more than once; ids must be unique.`,
        );
      }
      given.add(question.question_id);
    }
    const taken = new Set(given);
    return dto.questions.map((question, index) => {
      let id = question.question_id;
      if (id === undefined) {
        id = `q${index + 1}`;
        for (let n = 2; taken.has(id); n++) id = `q${index + 1}_${n}`;
        taken.add(id);
      }
      return { question_id: id, text: question.text, model_answer: question.model_answer ?? '' };
    });
  }
}

const BAD_CURSOR = 'cursor is not valid; pass next_cursor from the previous page';

function encodeCursor(createdAt: Date, id: Types.ObjectId): string {
  return Buffer.from(JSON.stringify([createdAt.getTime(), String(id)])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: Types.ObjectId } {
  try {
    const [time, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (Number.isInteger(time) && typeof id === 'string' && /^[0-9a-f]{24}$/.test(id)) {
      return { createdAt: new Date(time as number), id: new Types.ObjectId(id) };
    }
  } catch {
    // reported below
  }
  throw new BadRequestException(BAD_CURSOR);
}
