/** The shape every question id must have: safe as a MongoDB field name and in a URL path. */
export const QUESTION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const QUESTION_ID_RULE = 'must be 1 to 64 characters of A-Z, a-z, 0-9, "_" or "-"';

/**
 * Question ids a session cannot be created with: the names JavaScript gives an object's prototype.
 * Answers are keyed by question id in the session document, its views and webhook payloads, so such
 * an id would reach every client as a key that naive code (`obj[key] = value`) turns into a
 * prototype change, and Mongoose and most merge utilities refuse it. Every other name, "toString"
 * or "valueOf" included, is an ordinary id: the service only ever reads answers by own key.
 */
export const RESERVED_QUESTION_IDS: readonly string[] = ['__proto__', 'constructor', 'prototype'];
export const RESERVED_QUESTION_ID_RULE =
  "must not be __proto__, constructor or prototype (names JavaScript gives an object's prototype); choose another id";

/** The shape of a session id (a MongoDB ObjectId in hexadecimal). */
export const SESSION_ID_PATTERN = /^[0-9a-f]{24}$/i;
export const SESSION_ID_RULE = 'must be a 24-character hexadecimal id as returned by POST /api/sessions';

/**
 * A question id as a field name in the session document (answers.<id>). Every entry point checks ids
 * against QUESTION_ID_PATTERN; this refuses anything else once more, so that no caller can make an
 * id with "." or "$" address another field or become an operator.
 */
export function questionIdField(questionId: string): string {
  if (!QUESTION_ID_PATTERN.test(questionId)) {
    throw new Error(`refusing ${JSON.stringify(questionId.slice(0, 80))} as a field name: not a question id`);
  }
  return questionId;
}
