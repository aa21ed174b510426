import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import type { AnswerAudio } from '../../interview-record/answer.schema.js';
import { Sha256Meter } from '../../common/sha256-meter.js';
import { TranscriptionFailure } from './retry-policy.js';

export const INTEGRITY_FAILURE =
  'The stored audio failed its integrity check (SHA-256 mismatch); upload the answer again.';

/**
 * The stored audio as it streams out, hashed on the way. verify() throws unless exactly the
 * uploaded bytes went through: a transcript only counts if the provider heard those.
 */
export function verifiedAudio(stored: Readable, audio: AnswerAudio): { stream: Transform; verify(): void } {
  const meter = new Sha256Meter();
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      meter.update(chunk);
      callback(null, chunk);
    },
  });
  return {
    stream,
    verify() {
      if (!audio.sha256) return; // stored before checksums existed
      if (meter.bytes !== audio.size_bytes || meter.digest() !== audio.sha256) {
        throw new TranscriptionFailure(INTEGRITY_FAILURE, 'permanent');
      }
    },
  };
}
