import { Injectable, type OnModuleInit } from '@nestjs/common';
import createFvad, { type FvadModule } from '@echogarden/fvad-wasm';

/** One recording's WebRTC VAD: its own state in the shared WebAssembly memory, freed by dispose(). */
export interface WebRtcVad {
  /** Whether a 30 ms frame of 16 kHz mono PCM is voiced. */
  isSpeech(frame: Int16Array): boolean;
  dispose(): void;
}

const FRAME_BYTES = 480 * 2;

/**
 * WebRTC's voice-activity detector (libfvad, BSD), compiled to WebAssembly: loaded once per process
 * from the package's own file (no download, no native binary), then one small state per recording.
 * Every call is synchronous and takes microseconds, so recordings measured at once share it safely.
 */
@Injectable()
export class WebRtcVadEngine implements OnModuleInit {
  private module?: FvadModule;

  async onModuleInit(): Promise<void> {
    this.module ??= await createFvad();
  }

  /** A detector state at `mode` (0..3) for 16 kHz audio. */
  open(mode: number): WebRtcVad {
    const m = this.module;
    if (!m) throw new Error('the WebRTC VAD is not loaded yet');
    const instance = m._fvad_new();
    if (!instance) throw new Error('the WebRTC VAD could not allocate its state');
    const frame = m._malloc(FRAME_BYTES);
    if (m._fvad_set_mode(instance, mode) !== 0 || m._fvad_set_sample_rate(instance, 16_000) !== 0) {
      m._free(frame);
      m._fvad_free(instance);
      throw new Error(`the WebRTC VAD refused mode ${mode} at 16 kHz`);
    }
    let open = true;
    return {
      isSpeech(samples: Int16Array): boolean {
        // HEAP16 is re-read each time: the memory may have grown (and been replaced) since
        m.HEAP16.set(samples, frame >> 1);
        const voiced = m._fvad_process(instance, frame, samples.length);
        if (voiced < 0) throw new Error(`the WebRTC VAD refused a frame of ${samples.length} samples`);
        return voiced === 1;
      },
      dispose(): void {
        if (!open) return;
        open = false;
        m._free(frame);
        m._fvad_free(instance);
      },
    };
  }
}
