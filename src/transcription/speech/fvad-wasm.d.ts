/** The parts of @echogarden/fvad-wasm (libfvad compiled to WebAssembly by Emscripten) this service calls. */
declare module '@echogarden/fvad-wasm' {
  export interface FvadModule {
    HEAP16: Int16Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    _fvad_new(): number;
    _fvad_free(instance: number): void;
    _fvad_reset(instance: number): void;
    /** 0 on success; -1 for a mode outside 0..3. */
    _fvad_set_mode(instance: number, mode: number): number;
    /** 0 on success; -1 for a rate other than 8, 16, 32 or 48 kHz. */
    _fvad_set_sample_rate(instance: number, rate: number): number;
    /** 1 voiced, 0 not, -1 for a frame length other than 10, 20 or 30 ms. */
    _fvad_process(instance: number, frame: number, length: number): number;
  }
  const createFvad: (options?: object) => Promise<FvadModule>;
  export default createFvad;
}
