import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionChanges } from '../../src/sessions/session-changes.js';
import { SessionDataModule } from '../../src/sessions/session-data.module.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/** A live stream's watcher reads a whole session only when its rev moved, so that watching stays cheap. */
let app: MediumApp;

beforeAll(async () => {
  app = await startMedium('watch', { imports: [SessionDataModule], env: { SESSION_WATCH_MS: '100' } });
});
afterAll(() => app?.close());

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the session watcher', () => {
  it('reads revs on every tick, and the whole session once per change made elsewhere', async () => {
    const repository = app.get(SessionRepository);
    const changes = app.get(SessionChanges);
    const session = await repository.create(
      'alice',
      {
        title: 'watched',
        questions: [{ question_id: 'q1', text: 'Why?', model_answer: '' }],
        webhookUrl: null,
        language: null,
      },
      new Date(),
    );
    const id = String(session._id);
    const whole = vi.spyOn(repository, 'findMany');
    const seen: number[] = [];
    const stop = changes.subscribe(id, (s) => seen.push(s.rev));
    try {
      await wait(450); // about four ticks: the first delivers the session, the rest read revs only
      expect(seen).toEqual([session.rev]);
      expect(whole).toHaveBeenCalledTimes(1);

      // another instance's write: no event here, only the rev in the database moves
      await app.db.collection('interview_sessions').updateOne({ _id: new ObjectId(id) }, { $inc: { rev: 1 } });
      await wait(350);
      expect(seen).toEqual([session.rev, session.rev + 1]);
      expect(whole).toHaveBeenCalledTimes(2);
    } finally {
      stop();
      whole.mockRestore();
    }
  });
});
