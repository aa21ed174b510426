/**
 * At most `size` holders at once; the others wait their turn in arrival order. A waiter whose signal
 * aborts leaves the line (its promise rejects with the signal's reason) and takes no slot.
 */
export class Slots {
  private held = 0;
  private readonly line: Array<{ admit: () => void }> = [];

  constructor(readonly size: number) {}

  /** How many wait for a slot now. */
  get waiting(): number {
    return this.line.length;
  }

  /** Resolves with the slot's release (call it exactly once) when one is free. */
  take(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.held < this.size && this.line.length === 0) return Promise.resolve(this.hold());
    return new Promise((resolve, reject) => {
      const place = {
        admit: () => {
          signal?.removeEventListener('abort', leave);
          resolve(this.hold());
        },
      };
      const leave = () => {
        const at = this.line.indexOf(place);
        if (at >= 0) this.line.splice(at, 1);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.line.push(place);
    });
  }

  private hold(): () => void {
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      if (this.held < this.size) this.line.shift()?.admit();
    };
  }
}
