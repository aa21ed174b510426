import type { ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import type { ResumableUpload } from '../../audio/resumable-upload.schema.js';
import {
  ACCEPTED_AUDIO_DESCRIPTION,
  AUDIO_SNIFF_BYTES,
  TAGS_TOO_LARGE,
  detectAudioFormat,
} from '../intake/audio-format.js';
import { AudioHead } from '../intake/audio-head.js';

const NOT_AUDIO = `The uploaded file is not a supported audio recording; send ${ACCEPTED_AUDIO_DESCRIPTION}.`;

export type UploadFormat = NonNullable<ResumableUpload['format']>;

/** The first bytes are not audio (or their tags are too large to look past): the sentence to refuse them with. */
export class HeadRefused extends Error {
  override name = 'HeadRefused';
}

/**
 * An upload's first bytes while their format is unknown. They are GridFS chunks like any others
 * (the upload's document keeps only what resuming needs); this holds what the current request
 * brought until the upload reaches the offset where its head can be judged (`judge_at`, kept in the
 * document between requests: AUDIO_SNIFF_BYTES, or as far past the ID3 tags seen so far). Only then
 * is the head stored by earlier requests read back, once, and judged with this request's bytes: a
 * PATCH that ends before that point reads nothing back.
 */
export class HeldHead {
  /** Where the head can be judged, as far as is known. */
  judgeAt: number;
  private fresh: Buffer[] = [];
  private head: AudioHead | null = null;

  constructor(
    private readonly documents: ResumableUploadDocuments,
    private readonly upload: ResumableUpload,
  ) {
    this.judgeAt = upload.judge_at ?? AUDIO_SNIFF_BYTES;
  }

  /**
   * Takes bytes that arrived (the upload now at `offset`): the format once it can be told, 'more'
   * while more bytes are needed; throws HeadRefused when the head is not audio.
   */
  async add(data: Buffer, offset: number): Promise<UploadFormat | 'more'> {
    // a deferred length (null) has not ended: the PATCH that declares it is where it may
    const ended = this.upload.size !== null && offset >= this.upload.size;
    if (this.head) this.head.add(data);
    else this.fresh.push(data);
    if (!this.head && offset < this.judgeAt && !ended) return 'more';
    this.head ??= await this.readBack();
    const state = this.head.state(ended);
    if (state === 'more') {
      this.judgeAt = this.head.needed;
      return 'more';
    }
    if (state === 'tags-too-large') throw new HeadRefused(TAGS_TOO_LARGE);
    const detected = await detectAudioFormat(this.head.take());
    if (!detected) throw new HeadRefused(NOT_AUDIO);
    return { extension: detected.extension, content_type: detected.contentType };
  }

  /** The head as stored by earlier requests (their full chunks), then what this request brought. */
  private async readBack(): Promise<AudioHead> {
    const head = new AudioHead();
    await this.documents.readChunks(this.upload._id, this.upload.next_n, (data) => head.add(Buffer.from(data)));
    for (const data of this.fresh) head.add(data);
    this.fresh = [];
    return head;
  }
}
