import { questionIdField } from '../common/ids.js';
import type { Answer } from './answer.schema.js';
import type { Question } from './session.schema.js';

/**
 * Where an answer lives in the session document: answers is a map keyed by question id, so every
 * filter, update and projection of an answer names its key (checked to be a question id once more,
 * so that no id can address another field or become an operator).
 */
export const answerPath = (questionId: string) => `answers.${questionIdField(questionId)}`;

/** Prefixes every key of `fields` with the answer's path, for a $set. */
export function answerFields(questionId: string, fields: Partial<Answer>): Record<string, unknown> {
  const prefix = answerPath(questionId);
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [`${prefix}.${key}`, value]));
}

/**
 * A projection of these fields of these questions' answers, and nothing else of them: answers is a
 * map keyed by question id, so a projection names each key.
 */
export function answerFieldsProjection(questionIds: Iterable<string>, fields: readonly string[]): Record<string, 1> {
  const projection: Record<string, 1> = {};
  for (const questionId of questionIds)
    for (const field of fields) projection[`answers.${questionIdField(questionId)}.${field}`] = 1;
  return projection;
}

/**
 * The answer to `questionId` in a session's answers, if there is one. Only the map's own keys count:
 * a question may be called "toString" or "valueOf", names every plain object inherits.
 */
export function answerOf<A>(answers: Record<string, A> | null | undefined, questionId: string): A | undefined {
  return answers && Object.hasOwn(answers, questionId) ? answers[questionId] : undefined;
}

/** The session's answers in the order of its questions, unanswered questions left out. */
export function answersInOrder<A>(session: {
  questions: Pick<Question, 'question_id'>[];
  answers?: Record<string, A> | null;
}): A[] {
  return session.questions.flatMap((q) => {
    const answer = answerOf(session.answers, q.question_id);
    return answer === undefined ? [] : [answer];
  });
}
