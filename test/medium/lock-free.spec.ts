import { Collection } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DocumentLocks } from '../../src/database/document-locks.js';
import { SessionDataModule } from '../../src/sessions/session-data.module.js';
import { SessionDocuments } from '../../src/interview-record/session-documents.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/**
 * What MongoDB users run: no document locks (MONGODB_DOCUMENT_LOCKS=off, which `auto` picks on
 * MongoDB). Each session write must then be one plain conditional update, sent without a lock
 * document around it; on FerretDB (where this file runs in CI) `auto` would take one.
 */
let app: MediumApp;
const commands: string[] = [];

beforeAll(async () => {
  app = await startMedium('lock-free', { imports: [SessionDataModule], env: { MONGODB_DOCUMENT_LOCKS: 'off' } });
});
afterAll(() => app?.close());
afterEach(() => vi.restoreAllMocks());

/** Records every write command the driver is asked for, as `collection.method`. */
function recordWrites(): void {
  commands.length = 0;
  for (const method of ['insertOne', 'updateOne', 'findOneAndUpdate', 'deleteOne', 'findOneAndDelete'] as const) {
    const original = Collection.prototype[method] as (...args: unknown[]) => unknown;
    vi.spyOn(Collection.prototype, method).mockImplementation(function (this: Collection, ...args: unknown[]) {
      commands.push(`${this.collectionName}.${method}`);
      return original.apply(this, args);
    } as never);
  }
}

describe('without document locks', () => {
  it('hands the work a lease that is not exclusive and bounds each statement by maxTimeMS only', async () => {
    const lease = await app.get(DocumentLocks).withLock('lock-free-probe', async (lease) => lease);
    expect(lease.exclusive).toBe(false);
    expect(lease.statement()).toEqual({ maxTimeMS: expect.any(Number) });
  });

  it('writes a session with one updateOne, findOneAndUpdate or deleteOne each, and no lock document', async () => {
    const session = await app.get(SessionRepository).create(
      'alice',
      {
        title: 't',
        questions: [{ question_id: 'q1', text: 'Why?', model_answer: '' }],
        webhookUrl: null,
        language: null,
      },
      new Date(),
    );
    const documents = app.get(SessionDocuments);
    recordWrites();

    expect(await documents.updateOne(session._id, { status: 'in_progress' }, { $set: { title: 'renamed' } })).toBe(
      true,
    );
    expect(await documents.updateOne(session._id, { status: 'analyzed' }, { $set: { title: 'no' } })).toBe(false);
    const after = await documents.findOneAndUpdate(
      session._id,
      { status: 'in_progress' },
      { $set: { title: 'again' }, $inc: { rev: 1 } },
      'after',
    );
    expect([after?.title, after?.rev]).toEqual(['again', session.rev + 1]);
    expect(await documents.deleteOne(session._id, { status: 'in_progress' })).toBe(true);

    expect(commands).toEqual([
      'interview_sessions.updateOne',
      'interview_sessions.updateOne',
      'interview_sessions.findOneAndUpdate',
      'interview_sessions.deleteOne',
    ]);
    const collections = await app.db.listCollections({ name: 'document_locks' }).toArray();
    expect(collections).toEqual([]);
  });
});
