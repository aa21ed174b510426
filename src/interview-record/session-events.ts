/**
 * Emitted in-process after this server changed a session (an upload, a transcription step, an
 * analysis). Only says "look now": listeners read the session document for the state.
 */
export const SESSION_CHANGED = 'session.changed';

export interface SessionChangedEvent {
  sessionId: string;
}
