import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** What to do before the step with this index: run a competitor there, or fail as the database would. */
export interface StepPlan {
  at: number;
  action: (step: string) => Promise<void>;
}

/** Methods that answer synchronously (a cursor, a collection handle): they cannot be paused before. */
const SYNCHRONOUS = new Set([
  'constructor',
  'uploads',
  'chunks',
  'files',
  'bucket',
  'openDownload',
  'filesUploadedBefore',
  'onModuleInit',
]);

/**
 * Stops the code under test before each of its calls into the given I/O objects (every method that
 * answers with a promise, the ones they call on themselves included), so that a test can run a
 * competing writer at exactly that point, or make that step fail as a database error would. Only
 * calls made inside `observe` count; the competitor's own calls, made from a plan's action, pass
 * straight through.
 *
 * A competitor that must wait for something the paused code holds (a document lock taken in this
 * process) cannot finish while it is paused: after `patienceMs` the paused code goes on, and the
 * competitor finishes when it can (`settled()` waits for it). Either way the two interleave as they
 * could in production.
 */
export class StepInjector {
  private readonly context = new AsyncLocalStorage<'observed'>();
  /** The steps of the last observed run, in order, as `Class.method`. */
  readonly steps: string[] = [];
  private plan: StepPlan | null = null;
  private pending: Promise<void> | null = null;

  constructor(
    targets: object[],
    private readonly patienceMs = 1_500,
  ) {
    for (const target of targets) this.wrap(target);
  }

  /** Runs `work` with its steps counted, and `plan` carried out before the step it names. */
  async observe<T>(work: () => Promise<T>, plan: StepPlan | null = null): Promise<T> {
    this.steps.length = 0;
    this.plan = plan;
    this.pending = null;
    return this.context.run('observed', work);
  }

  /** Waits for the last plan's action to end (it may have outlived its patience). */
  async settled(): Promise<void> {
    await this.pending;
  }

  private async before(step: string): Promise<void> {
    const index = this.steps.length;
    this.steps.push(step);
    const plan = this.plan;
    if (!plan || plan.at !== index) return;
    this.plan = null;
    const action = this.context.exit(() => plan.action(step));
    this.pending = action.then(
      () => undefined,
      () => undefined,
    );
    // a failing action fails this step; one still waiting after its patience lets the paused code go on
    await Promise.race([action, sleep(this.patienceMs)]);
  }

  private wrap(target: object): void {
    const injector = this;
    const names = new Set<string>();
    for (let proto = Object.getPrototypeOf(target); proto && proto !== Object.prototype;) {
      for (const name of Object.getOwnPropertyNames(proto)) names.add(name);
      proto = Object.getPrototypeOf(proto);
    }
    const label = target.constructor.name;
    for (const name of names) {
      const original = (target as Record<string, unknown>)[name];
      if (SYNCHRONOUS.has(name) || typeof original !== 'function') continue;
      Object.defineProperty(target, name, {
        configurable: true,
        writable: true,
        value: function (this: unknown, ...args: unknown[]) {
          if (injector.context.getStore() !== 'observed') return original.apply(this, args);
          return injector.before(`${label}.${name}`).then(() => original.apply(this, args));
        },
      });
    }
  }
}
