import { Logger } from '@nestjs/common';
import { createPublicKey, type JsonWebKey } from 'node:crypto';

/** Why a token's key cannot be used; the guard reports it as an invalid token. */
export class KeyUnavailable extends Error {
  override name = 'JsonWebTokenError';
}

export interface JwksTimings {
  /** Fewest milliseconds between two fetches, however many unknown key ids arrive. */
  minRefreshMs: number;
  /** The key set is fetched again when older than this, on the next token that needs it. */
  maxAgeMs: number;
  /** How long a key id that the provider did not publish is refused without asking again. */
  unknownKidMs: number;
  timeoutMs: number;
}

export const JWKS_TIMINGS: JwksTimings = {
  minRefreshMs: 1_000,
  maxAgeMs: 10 * 60_000,
  unknownKidMs: 60_000,
  timeoutMs: 5_000,
};

/** At most this many unknown key ids are remembered (the oldest are forgotten first). */
const MAX_UNKNOWN_KIDS = 10_000;
const MAX_KID_LENGTH = 256;
const MAX_JWKS_BYTES = 1024 * 1024;

interface PublishedKey {
  /** SPKI PEM, the form jsonwebtoken takes (it checks the key's type against the token's alg). */
  key: string;
  alg?: string;
}

/**
 * The identity provider's signing keys, by key id. Genuine keys are never starved by junk: a
 * token's kid is looked up in the cached set first; an unknown kid waits for the next fetch,
 * and fetches happen at most once per `minRefreshMs` with one in flight, shared by every waiter,
 * so any number of random kids costs the provider one request per interval. A kid still missing
 * after a fetch that began after it was first seen is refused for `unknownKidMs` without waiting.
 * A failed fetch keeps the keys already known. A key new after rotation is found by the first
 * fetch after it is published: its first token waits `minRefreshMs` at worst (a second), well inside
 * any idle timeout, while the provider sees at most one request a second whatever arrives.
 */
export class JwksKeySet {
  private readonly logger = new Logger(JwksKeySet.name);
  private keys = new Map<string, PublishedKey>();
  private fetchedAt = -Infinity;
  private lastAttemptAt = -Infinity;
  private inFlight?: Promise<void>;
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly uri: string,
    private readonly timings: JwksTimings = JWKS_TIMINGS,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many times the key set was fetched (for tests and logs). */
  fetches = 0;

  async keyFor(kid: unknown, alg: string): Promise<string> {
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
      throw new KeyUnavailable('the token has an unusable key id');
    }
    const seenAt = this.now();
    let found = this.lookup(kid, alg);
    if (found) {
      // a known key is served at once; an old key set is refreshed behind it
      if (seenAt - this.fetchedAt > this.timings.maxAgeMs) void this.refresh(seenAt);
      return found;
    }
    const refusedUntil = kid === undefined ? undefined : this.unknown.get(kid);
    if (refusedUntil !== undefined && refusedUntil > seenAt) throw new KeyUnavailable('no signing key for this token');
    await this.refresh(seenAt);
    found = this.lookup(kid, alg);
    if (found) return found;
    if (kid !== undefined) this.rememberUnknown(kid);
    throw new KeyUnavailable('no signing key for this token');
  }

  private lookup(kid: string | undefined, alg: string): string | undefined {
    let published: PublishedKey | undefined;
    if (kid === undefined) {
      // a token without a kid is accepted only when the provider publishes a single key
      published = this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
    } else {
      published = this.keys.get(kid);
    }
    if (!published || (published.alg && published.alg !== alg)) return undefined;
    return published.key;
  }

  private rememberUnknown(kid: string): void {
    this.unknown.delete(kid);
    this.unknown.set(kid, this.now() + this.timings.unknownKidMs);
    while (this.unknown.size > MAX_UNKNOWN_KIDS) this.unknown.delete(this.unknown.keys().next().value!);
  }

  /**
   * Resolves once a fetch that started at or after `since` has finished (or failed), starting one
   * when allowed, waiting for the interval to pass when not. Never more than one in flight.
   */
  private async refresh(since: number): Promise<void> {
    while (this.lastAttemptAt < since || this.inFlight) {
      if (this.inFlight) {
        const started = this.lastAttemptAt;
        await this.inFlight;
        if (started >= since) return;
        continue;
      }
      const wait = this.lastAttemptAt + this.timings.minRefreshMs - this.now();
      if (wait > 0) {
        await new Promise((resolve) => setTimeout(resolve, wait).unref());
        continue;
      }
      this.lastAttemptAt = this.now();
      this.inFlight = this.fetchKeys().finally(() => (this.inFlight = undefined));
    }
  }

  private async fetchKeys(): Promise<void> {
    this.fetches++;
    try {
      const res = await fetch(this.uri, {
        signal: AbortSignal.timeout(this.timings.timeoutMs),
        headers: { accept: 'application/json' },
        redirect: 'error',
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error('the key set is over 1 MB');
      const keys = new Map<string, PublishedKey>();
      for (const jwk of ((JSON.parse(text) as { keys?: unknown }).keys ?? []) as (JsonWebKey & {
        kid?: unknown;
        alg?: unknown;
        use?: unknown;
      })[]) {
        if (typeof jwk?.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
        try {
          keys.set(jwk.kid, {
            key: createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string,
            alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
          });
        } catch {
          this.logger.warn(`JWKS key ${jwk.kid.slice(0, 64)} could not be read; it is ignored`);
        }
      }
      this.keys = keys;
      this.fetchedAt = this.now();
    } catch (error) {
      // the keys already known stay in use; the next token that needs a fetch tries again
      this.logger.warn(`could not fetch the JWKS from ${this.uri}: ${(error as Error).message}`);
    }
  }
}
