import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { userLimitSettings, type UserLimitSettings } from '../config/settings.js';
import { Types } from 'mongoose';
import type { RubricInputDto } from './dto/rubric-input.dto.js';
import type { Rubric } from '../interview-record/rubric.schema.js';
import { toObjectId } from '../common/object-id.js';
import type { CreateSessionDto } from './dto/create-session.dto.js';
import type { ListSessionsQuery } from './dto/list-sessions.dto.js';
import type { SessionListView } from './dto/session-views.dto.js';
import type { WebhookDeliveriesView } from '../webhooks/dto/webhook-deliveries.dto.js';
import { SessionEraser } from './session-eraser.js';
import { sessionSummaryView, STATUS_READ_EXCLUSION } from './session.view.js';
import { Clock } from '../database/clock.js';
import { webhookDeliveriesView } from '../webhooks/webhook-deliveries.view.js';
import { WebhookDeliveryStore } from '../webhooks/webhook-delivery.store.js';
import { WebhookUrlPolicy } from '../webhooks/webhook-url-policy.js';
import type { Question, SessionRecord } from '../interview-record/session.schema.js';
import { SessionRepository } from './session.repository.js';

export const SESSION_NOT_FOUND = 'No interview session with this id exists for your account.';

@Injectable()
export class SessionsService {
  constructor(
    private readonly repository: SessionRepository,
    private readonly eraser: SessionEraser,
    private readonly webhookUrls: WebhookUrlPolicy,
    private readonly webhookStore: WebhookDeliveryStore,
    private readonly clock: Clock,
    @Inject(userLimitSettings.KEY) private readonly limits: UserLimitSettings,
  ) {}

  /** The caller's sessions, newest first, a page at a time. */
  async list(userId: string, query: ListSessionsQuery): Promise<SessionListView> {
    const limit = query.limit ?? 20;
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const page = await this.repository.listOwned(userId, { limit: limit + 1, status: query.status, before });
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
    const created = await this.repository.create(
      userId,
      {
        title: dto.title?.trim() ?? '',
        questions,
        webhookUrl,
        language: dto.language ?? null,
        rubric: dto.rubric ? checkedRubric(dto.rubric, 'rubric') : null,
        languages: dto.languages?.length ? [...new Set(dto.languages)] : null,
      },
      this.clock.now(),
    );
    // insert, then count: no atomic conditional insert on FerretDB; of two racers for the last
    // place both may be refused, never both kept
    if ((await this.repository.countOwned(userId)) > this.limits.sessions) {
      await this.repository.withdrawCreated(created._id);
      throw new ConflictException(
        `You have ${this.limits.sessions} interview sessions, the most one account may keep (MAX_SESSIONS_PER_USER); erase sessions you no longer need (DELETE /api/sessions/{sessionId}) and create this one again.`,
      );
    }
    return created;
  }

  /** Every stored webhook event of the caller's session, with each delivery attempt. */
  async webhookDeliveries(sessionId: string, userId: string): Promise<WebhookDeliveriesView> {
    const session = await this.getOwned(sessionId, userId, { _id: 1 });
    return webhookDeliveriesView(await this.webhookStore.forSession(session._id));
  }

  /** The caller's session; another user's session is reported exactly like a missing one. */
  async getOwned(sessionId: string, userId: string, projection?: Record<string, 0 | 1>): Promise<SessionRecord> {
    const session = await this.repository.findOwned(toObjectId(sessionId), userId, projection);
    if (!session) throw new NotFoundException(SESSION_NOT_FOUND);
    return session;
  }

  /**
   * The caller's session for the status views (status GET, an event stream's snapshot), in one read
   * (see STATUS_READ_EXCLUSION for why this projection).
   */
  getOwnedStatuses(sessionId: string, userId: string): Promise<SessionRecord> {
    return this.getOwned(sessionId, userId, STATUS_READ_EXCLUSION);
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
      return {
        question_id: id,
        text: question.text,
        model_answer: question.model_answer ?? '',
        rubric: question.rubric ? checkedRubric(question.rubric, `questions[${index}].rubric`) : null,
        ...(question.vocabulary?.length ? { vocabulary: question.vocabulary.map((v) => v.trim()) } : {}),
      };
    });
  }
}

/** The stored rubric; 400 when two criteria share an id. */
function checkedRubric(input: RubricInputDto, where: string): Rubric {
  const ids = new Set<string>();
  for (const criterion of input.criteria) {
    if (ids.has(criterion.id)) {
      throw new BadRequestException(
        `${where}: criterion id "${criterion.id}" appears more than once; ids must be unique.`,
      );
    }
    ids.add(criterion.id);
  }
  return toRubric(input);
}

/** The stored form of a validated rubric input. */
export function toRubric(input: RubricInputDto): Rubric {
  return {
    criteria: input.criteria.map((c) => ({
      id: c.id,
      name: c.name?.trim() || c.id,
      description: c.description?.trim() ?? '',
      weight: c.weight,
      levels: c.levels?.map((l) => l.trim()) ?? [],
    })),
  };
}

const BAD_CURSOR = 'cursor is not valid; pass next_cursor from the previous page';

function encodeCursor(createdAt: Date, id: Types.ObjectId): string {
  return Buffer.from(JSON.stringify([createdAt.getTime(), String(id)])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: Types.ObjectId } {
  try {
    const [time, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    // a Date holds ±8.64e15 ms; past that it is Invalid Date, which no query can use
    if (
      Number.isInteger(time) &&
      Math.abs(time as number) <= 8.64e15 &&
      typeof id === 'string' &&
      /^[0-9a-f]{24}$/.test(id)
    ) {
      return { createdAt: new Date(time as number), id: new Types.ObjectId(id) };
    }
  } catch {
    // reported below
  }
  throw new BadRequestException(BAD_CURSOR);
}
