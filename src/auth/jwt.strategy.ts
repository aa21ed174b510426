import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import jwksRsa from 'jwks-rsa';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { authSettings, type AuthSettings } from '../config/settings.js';
import type { AuthenticatedUser } from './authenticated-user.js';

interface JwtPayload {
  sub?: unknown;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

/** Why a token's key could not be found; reported to the client as an invalid token. */
class KeyUnavailable extends Error {
  override name = 'JsonWebTokenError';
}

function algorithmOf(rawJwt: string): string | undefined {
  try {
    return JSON.parse(Buffer.from(rawJwt.split('.')[0], 'base64url').toString()).alg;
  } catch {
    return undefined;
  }
}

/**
 * Bearer tokens: HS256 signed with JWT_SECRET, and/or RS/ES/PS tokens from an identity provider,
 * verified against its JWKS (JWT_JWKS_URI; keys cached, and fetched again for an unknown key id,
 * which is how rotation arrives). The key is chosen by the token's algorithm, so an HS256 token can
 * never be checked against a public key. JWT_ISSUER and JWT_AUDIENCE are enforced when set.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor(@Inject(authSettings.KEY) settings: AuthSettings) {
    const secret = settings.jwtSecret;
    const jwksUri = settings.jwksUri;
    const jwks = jwksUri
      ? jwksRsa({
          jwksUri,
          cache: true,
          cacheMaxAge: 10 * 60 * 1000,
          rateLimit: true,
          jwksRequestsPerMinute: 10,
          timeout: 5_000,
        })
      : undefined;
    const algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? ASYMMETRIC : [])];
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      algorithms: algorithms as never,
      ignoreExpiration: false,
      issuer: settings.issuer,
      audience: settings.audience,
      secretOrKeyProvider: (_req: unknown, rawJwt: string, done: (error: Error | null, key?: string) => void) => {
        const alg = algorithmOf(rawJwt);
        if (alg === 'HS256' && secret) return done(null, secret);
        if (alg && jwks && ASYMMETRIC.includes(alg)) {
          let kid: string | undefined;
          try {
            kid = JSON.parse(Buffer.from(rawJwt.split('.')[0], 'base64url').toString()).kid;
          } catch {
            kid = undefined;
          }
          jwks.getSigningKey(kid).then(
            (key) => done(null, key.getPublicKey()),
            () => done(new KeyUnavailable('no signing key for this token')),
          );
          return;
        }
        return done(new KeyUnavailable(`tokens signed with ${String(alg)} are not accepted`));
      },
    });
  }

  validate(payload: JwtPayload): AuthenticatedUser {
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 256) {
      throw new UnauthorizedException('The token has no usable "sub" claim; it must name the user.');
    }
    return { userId: payload.sub };
  }
}
