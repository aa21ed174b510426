import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { toObjectId } from '../common/object-id.js';
import { liveSettings, type LiveSettings } from '../config/settings.js';
import { SESSION_CHANGED, type SessionChangedEvent } from '../interview-record/session-events.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import { SessionRepository } from './session.repository.js';

export type SessionListener = (session: SessionRecord) => void;

const BATCH = 500;

/**
 * Turns changes to watched sessions into callbacks, whichever server made them.
 *
 * Changes made by this process arrive as SESSION_CHANGED events and are delivered at once (with the
 * document the write read back, when it did). Changes made by other instances are noticed by one
 * watcher per process that reads the watched sessions' `rev` every SESSION_WATCH_MS (FerretDB has
 * neither change streams nor working tailable cursors) and reads a whole session only when its `rev`
 * moved. The watcher only runs while someone is listening, and costs one small query per tick
 * however many requests wait.
 */
@Injectable()
export class SessionChanges implements OnModuleDestroy {
  private readonly logger = new Logger(SessionChanges.name);
  private readonly listeners = new Map<string, Set<SessionListener>>();
  private readonly lastRev = new Map<string, number>();
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly sessions: SessionRepository,
    @Inject(liveSettings.KEY) settings: LiveSettings,
  ) {
    this.intervalMs = settings.watchMs;
  }

  /** Calls `listener` with the session after each change until the returned function is called. */
  subscribe(sessionId: string, listener: SessionListener): () => void {
    let set = this.listeners.get(sessionId);
    if (!set) this.listeners.set(sessionId, (set = new Set()));
    set.add(listener);
    this.timer ??= setInterval(() => void this.refresh([...this.listeners.keys()]), this.intervalMs);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(sessionId) === set) {
        this.listeners.delete(sessionId);
        this.lastRev.delete(sessionId);
      }
      if (this.listeners.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /**
   * Resolves with the session as soon as `done` holds for it, or with null at `until` (ms) or when
   * `signal` aborts. `read` runs once just after subscribing, so that a change between the caller's
   * last read and the subscription is not missed.
   */
  waitFor(
    sessionId: string,
    done: (session: SessionRecord) => boolean,
    until: number,
    read: () => Promise<SessionRecord | null>,
    signal?: AbortSignal,
  ): Promise<SessionRecord | null> {
    return new Promise((resolve) => {
      let finished = false;
      const finish = (value: SessionRecord | null) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () => finish(null);
      const unsubscribe = this.subscribe(sessionId, (s) => done(s) && finish(s));
      const timer = setTimeout(() => finish(null), Math.max(0, until - Date.now()));
      signal?.addEventListener('abort', onAbort);
      read().then(
        (s) => s && done(s) && finish(s),
        () => undefined,
      );
    });
  }

  @OnEvent(SESSION_CHANGED)
  onLocalChange(event: SessionChangedEvent): void {
    if (!this.listeners.has(event.sessionId)) return;
    // the write's own read-back, when it has one: no second read of the session
    if (event.session) this.deliver(event.session);
    else void this.refresh([event.sessionId]);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private async refresh(sessionIds: string[]): Promise<void> {
    for (let i = 0; i < sessionIds.length; i += BATCH) {
      let found: SessionRecord[];
      try {
        // the revs first: a whole document is read only when it changed since last delivered
        const revs = await this.sessions.revsOf(sessionIds.slice(i, i + BATCH).map(toObjectId));
        const changed = revs.filter((r) => (this.lastRev.get(String(r._id)) ?? -1) < r.rev).map((r) => r._id);
        found = changed.length === 0 ? [] : await this.sessions.findMany(changed);
      } catch (error) {
        this.logger.warn(`could not read watched sessions: ${(error as Error).message}`);
        return;
      }
      for (const session of found) this.deliver(session);
    }
  }

  /** Calls the session's listeners, unless they have seen this rev (or a later one) already. */
  private deliver(session: SessionRecord): void {
    const id = String(session._id);
    if ((this.lastRev.get(id) ?? -1) >= session.rev) return;
    this.lastRev.set(id, session.rev);
    for (const listener of this.listeners.get(id) ?? []) {
      try {
        listener(session);
      } catch (error) {
        this.logger.error(`session listener failed: ${(error as Error).message}`);
      }
    }
  }
}
