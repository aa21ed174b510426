import { createSHA256, type IHasher } from 'hash-wasm';

/**
 * The SHA-256 of an upload, computed as its chunks are stored and carried from one PATCH to the next
 * (and from one instance to another) as a saved state of about a hundred bytes in the upload's
 * document. Node's own hash cannot be saved, which is why this uses hash-wasm: completing an upload
 * then needs no read-back of every chunk.
 */
export class UploadSha256 {
  private constructor(
    private readonly hasher: IHasher,
    /** Bytes hashed so far. */
    public bytes: number,
  ) {}

  /** A hash of nothing yet. */
  static async start(): Promise<UploadSha256> {
    const hasher = await createSHA256();
    hasher.init();
    return new UploadSha256(hasher, 0);
  }

  /**
   * The hash of `bytes` bytes as saved by `save()`; null when the state cannot be taken up (written
   * by another hash implementation, e.g. another hash-wasm version, or damaged): the caller then
   * hashes the stored chunks again.
   */
  static async resume(state: Uint8Array, bytes: number): Promise<UploadSha256 | null> {
    const hasher = await createSHA256();
    try {
      hasher.load(state);
    } catch {
      return null;
    }
    return new UploadSha256(hasher, bytes);
  }

  update(data: Uint8Array): void {
    this.hasher.update(data);
    this.bytes += data.length;
  }

  /** The state so far, to store with the progress it covers; hashing goes on after it. */
  save(): Uint8Array {
    return this.hasher.save();
  }

  digest(): string {
    return this.hasher.digest('hex');
  }
}
