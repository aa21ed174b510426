import { createHash, type Hash } from 'node:crypto';

/** SHA-256 and length of a byte stream, fed chunk by chunk as it passes. */
export class Sha256Meter {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
