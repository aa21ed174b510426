import { Logger } from '@nestjs/common';
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type CryptoKey,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type RemoteJWKSet,
} from 'jose';

export interface JwksTimings {
  /** Fewest milliseconds between two fetches (failed ones too), however many unknown key ids arrive. */
  minRefreshMs: number;
  /** The key set is fetched again when older than this, behind the next token that uses it. */
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

/**
 * The identity provider's signing keys: jose's remote JWK set keeps them (one fetch in flight,
 * shared by every token waiting for it; the timeout; selection by kid, alg, kty and use), and this
 * class adds what keeps junk key ids from locking genuine ones out.
 *
 * jose's own cool-down answers an unknown kid by refusing it until the cool-down ends, so a key
 * published just after a fetch would be refused; here instead fetches are paced, at most one per
 * `minRefreshMs`, and a token waits for the first fetch sent after it arrived: any number of
 * random kids costs the provider one request per interval, and a key new after rotation is found
 * by its first token within about a second. A kid still missing after such a fetch is refused
 * for `unknownKidMs` without waiting. A key set older than `maxAgeMs` is refreshed behind the
 * tokens that use it, and a failed fetch keeps the keys already known (jose would make every
 * token wait for a stale set, and refuse them all while the provider is down).
 */
export class JwksKeySet {
  private readonly logger = new Logger(JwksKeySet.name);
  private readonly keys: RemoteJWKSet;
  private readonly unknown = new Map<string, number>();
  private lastSentAt = -Infinity;
  private fetchedAt = -Infinity;

  constructor(
    private readonly uri: string,
    private readonly timings: JwksTimings = JWKS_TIMINGS,
  ) {
    this.keys = createRemoteJWKSet(new URL(uri), {
      // pacing happens in fetchPaced, where waiting tokens share the fetch instead of being refused
      cooldownDuration: 0,
      // never stale for jose: refreshBehind() refreshes the set without holding tokens up
      cacheMaxAge: Infinity,
      // jose's clock starts before fetchPaced's wait; the request itself still gets timeoutMs
      timeoutDuration: timings.minRefreshMs + timings.timeoutMs,
      [customFetch]: this.fetchPaced,
    });
  }

  /** The key for a token's header, for jose's jwtVerify; throws when there is none. */
  readonly keyFor = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const { kid } = header;
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
      throw new errors.JWKSNoMatchingKey('the token has an unusable key id');
    }
    const seenAt = Date.now();
    if (kid !== undefined && (this.unknown.get(kid) ?? -Infinity) > seenAt) throw new errors.JWKSNoMatchingKey();
    this.refreshBehind(seenAt);
    for (;;) {
      try {
        const key = await this.keys(header, token);
        // a token without a kid is accepted only when the provider publishes a single key
        if (kid === undefined && this.keys.jwks()?.keys.length !== 1) throw new errors.JWKSNoMatchingKey();
        return key;
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        // jose fetched again before refusing, but the fetch it waited for may have been sent before
        // this token arrived (and before its key was published): wait for the next one
        if (this.lastSentAt < seenAt) continue;
        if (kid !== undefined) this.rememberUnknown(kid);
        throw error;
      }
    }
  };

  private rememberUnknown(kid: string): void {
    this.unknown.delete(kid);
    this.unknown.set(kid, Date.now() + this.timings.unknownKidMs);
    while (this.unknown.size > MAX_UNKNOWN_KIDS) this.unknown.delete(this.unknown.keys().next().value!);
  }

  /** A known key is served at once; an old key set is fetched again behind it. */
  private refreshBehind(now: number): void {
    if (now - this.fetchedAt <= this.timings.maxAgeMs || this.keys.reloading) return;
    this.keys.reload().catch(() => undefined); // fetchPaced said why
  }

  /**
   * jose's fetch, at most one per `minRefreshMs` (jose never runs two at once); a set over 1 MB or
   * not JSON is refused. A failure is logged here, once per fetch, and the keys already known stay.
   */
  private readonly fetchPaced: FetchImplementation = async (url, options) => {
    const wait = this.lastSentAt + this.timings.minRefreshMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
    this.lastSentAt = Date.now();
    try {
      const response = await fetch(url, options);
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      const body = await response.text();
      if (body.length > MAX_JWKS_BYTES) throw new Error('the key set is over 1 MB');
      JSON.parse(body); // (jose parses it again; this only makes a bad set say so in the log)
      this.fetchedAt = Date.now();
      return new Response(body, response);
    } catch (error) {
      this.logger.warn(`could not fetch the JWKS from ${this.uri}: ${(error as Error).message}`);
      throw error;
    }
  };
}
