import { AUDIO_SNIFF_BYTES, audioSniffBytes } from './audio-format.js';

/** Whether the held bytes can be judged yet. */
export type AudioHeadState = 'more' | 'judge' | 'tags-too-large';

/**
 * The first bytes of an upload, held until there are enough to judge its format: AUDIO_SNIFF_BYTES,
 * or that many past an mp3's ID3 tags (cover art), which move the first frame further in, at most
 * MAX_TAGGED_HEAD_BYTES. The multipart gate and the tus writer both hold their heads here.
 */
export class AudioHead {
  private parts: Buffer[] = [];
  private held = 0;
  private window = AUDIO_SNIFF_BYTES;

  constructor(start?: Buffer) {
    if (start && start.length > 0) this.add(start);
  }

  add(chunk: Buffer): void {
    this.parts.push(chunk);
    this.held += chunk.length;
  }

  /**
   * 'more' until enough is held to judge the format, or the whole file is (`ended`); 'judge' then;
   * 'tags-too-large' when the tags alone are over MAX_TAGGED_HEAD_BYTES.
   */
  state(ended: boolean): AudioHeadState {
    if (this.held >= this.window) {
      // what is held may show ID3 tags, which move the first audio frame further in
      this.window = audioSniffBytes(this.peek());
      if (this.window === Infinity) return 'tags-too-large';
    }
    return ended || this.held >= this.window ? 'judge' : 'more';
  }

  /** How many bytes from the start are needed to judge, as far as what is held tells. */
  get needed(): number {
    return this.window;
  }

  /** Everything held, left in place. */
  peek(): Buffer {
    if (this.parts.length !== 1) this.parts = [Buffer.concat(this.parts)];
    return this.parts[0] ?? Buffer.alloc(0);
  }

  /** Everything held, handed over: the head is empty afterwards. */
  take(): Buffer {
    const all = this.peek();
    this.parts = [];
    this.held = 0;
    return all;
  }
}
