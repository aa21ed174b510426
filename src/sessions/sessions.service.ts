import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { toObjectId } from '../common/object-id.js';
import type { CreateSessionDto } from './dto/create-session.dto.js';
import type { Question, SessionRecord } from './session.schema.js';
import { SessionStore } from './session.store.js';

export const SESSION_NOT_FOUND = 'No interview session with this id exists for your account.';

@Injectable()
export class SessionsService {
  constructor(private readonly store: SessionStore) {}

  create(userId: string, dto: CreateSessionDto): Promise<SessionRecord> {
    return this.store.create(userId, dto.title?.trim() ?? '', this.assignQuestionIds(dto));
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
        throw new BadRequestException(`question_id "${question.question_id}" appears more than once; ids must be unique.`);
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
