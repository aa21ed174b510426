import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The lock-free pass (`npm run test:lock-free`, in CI on FerretDB): the flows that need no
 * concurrency, run with MONGODB_DOCUMENT_LOCKS=off, so that the code MongoDB users run, where
 * `auto` takes no document locks, is executed on every run; no MongoDB server can run on the CI
 * machine. Every server these files start must say at start-up that it runs without locks
 * (test/support/app-process.ts), and test/medium/lock-free.spec.ts checks that a session write
 * is then one plain conditional update with no lock document.
 *
 * What this proves: the lock-free code path works, request by request. What it cannot prove:
 * atomicity. FerretDB applies a conditional update as a read followed by a write, so without locks
 * two racing writers can both win there; MongoDB applies each one atomically. The tests whose
 * assertions rest on that (two writers racing for one claim or one document) are left out below.
 */
const FILES = [
  // upload → transcript → analyze → erase
  'test/e2e/upload.e2e-spec.ts',
  'test/e2e/transcription.e2e-spec.ts',
  'test/e2e/analysis.e2e-spec.ts',
  'test/e2e/lifecycle.e2e-spec.ts',
  // tus, webhooks, cleanup
  'test/e2e/resumable-upload.e2e-spec.ts',
  'test/e2e/transcribe-ahead.e2e-spec.ts',
  'test/e2e/webhooks.e2e-spec.ts',
  'test/e2e/cleanup.e2e-spec.ts',
  'test/medium/cleanup.spec.ts',
  // the queue and the job, with the clock moved by the test
  'test/medium/transcription-queue.spec.ts',
  'test/medium/transcribe-answer.job.spec.ts',
  'test/medium/side-effects.spec.ts',
  'test/medium/lock-free.spec.ts',
];

/** Tests whose assertions need two racing writers to be serialised: by the locks on FerretDB. */
const RACES = [
  'even when two runs start together', // two cleanup runs racing for the job lease
  'two analyze requests arrive at the same moment', // two claims of one scoring
  'refuses a second writer while one PATCH is running', // two tus writers racing for one upload
  'while its answers are queued and being transcribed', // an erasure racing a finishing job
  'while an upload into it is streaming', // an erasure racing an upload's write
  'while its first recording is being transcribed', // a re-upload racing the job's completion
  'notices a transcription finished by another server', // two servers' claims racing for one answer
];
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: FILES,
    testNamePattern: new RegExp(`^(?!.*(?:${RACES.map(escape).join('|')}))`),
    env: { MONGODB_DOCUMENT_LOCKS: 'off' },
  },
});
