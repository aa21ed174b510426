import type { SessionRecord } from './session.schema.js';

/**
 * Emitted in-process after this server changed a session (an upload, a transcription step, an
 * analysis). Only says "look now": the session document holds the state.
 */
export const SESSION_CHANGED = 'session.changed';

export interface SessionChangedEvent {
  sessionId: string;
  /**
   * The document as the write left it, when the write read it back (findOneAndUpdate "after"):
   * a listener may look at it instead of reading the session again. It is a moment's state, as a
   * read would be: any write a listener makes from it is conditional as ever.
   */
  session?: SessionRecord;
}
