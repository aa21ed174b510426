import type { Answer } from './answer.schema.js';

/**
 * Where an answer lives in the session document: answers is a map keyed by question id, so every
 * filter, update and projection of an answer names its key.
 */
export const answerPath = (questionId: string) => `answers.${questionId}`;

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
  for (const questionId of questionIds) for (const field of fields) projection[`answers.${questionId}.${field}`] = 1;
  return projection;
}
