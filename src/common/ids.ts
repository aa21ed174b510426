/** The shape every question id must have: safe as a MongoDB field name and in a URL path. */
export const QUESTION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const QUESTION_ID_RULE = 'must be 1 to 64 characters of A-Z, a-z, 0-9, "_" or "-"';
export const SESSION_ID_RULE = 'must be a 24-character hexadecimal id as returned by POST /api/sessions';
