import type { Request } from 'express';
import passport from 'passport';

type Done = (error: unknown, user?: unknown) => void;

/** "Authorization: Bearer <token>": its first two words, the scheme in any case (as passport-jwt reads it). */
const AUTHORIZATION = /(\S+)\s+(\S+)/;

export function bearerToken(authorization: unknown): string | undefined {
  const words = typeof authorization === 'string' ? AUTHORIZATION.exec(authorization) : null;
  return words && words[1].toLowerCase() === 'bearer' ? words[2] : undefined;
}

/**
 * Passport's side of bearer tokens, for PassportStrategy(): the token is read from the request and
 * checked by `check` (which throws the refusal: passport's fail(), the guard's `info`), and what
 * the check returns goes to the strategy's validate() (the callback PassportStrategy adds). No
 * token fails with no reason.
 */
export class BearerTokenStrategy<Claims> extends passport.Strategy {
  constructor(
    private readonly check: (token: string) => Promise<Claims>,
    private readonly verified: (claims: Claims, done: Done) => void,
  ) {
    super();
  }

  override authenticate(req: Request): void {
    const token = bearerToken(req.headers.authorization);
    if (!token) return this.fail(401);
    this.check(token).then(
      (claims) =>
        this.verified(claims, (error, user) =>
          error ? this.error(error) : user ? this.success(user) : this.fail(401),
        ),
      (refusal: Error) => this.fail(refusal, 401),
    );
  }
}
