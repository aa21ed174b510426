import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { authSettings, type AuthSettings } from '../config/settings.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { JwksKeySet, KeyUnavailable } from './jwks-key-set.js';

interface JwtPayload {
  sub?: unknown;
  exp?: unknown;
  iat?: unknown;
  nbf?: unknown;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

/** How far the issuer's clock may run ahead of ours (nbf, iat), in seconds; exp is strict. */
export const CLOCK_SKEW_S = 30;

function headerOf(rawJwt: string): { alg?: unknown; kid?: unknown } {
  try {
    const header = JSON.parse(Buffer.from(rawJwt.split('.')[0], 'base64url').toString()) as unknown;
    return typeof header === 'object' && header !== null ? header : {};
  } catch {
    return {};
  }
}

/**
 * Bearer tokens: HS256 signed with JWT_SECRET, and/or RS/ES/PS tokens from an identity provider,
 * verified against its JWKS (JWT_JWKS_URI; see JwksKeySet for how unknown key ids are kept from
 * starving genuine ones). The key is chosen by the token's algorithm, so an HS256 token can never
 * be checked against a public key. JWT_ISSUER and JWT_AUDIENCE are enforced when set. Every token
 * must expire (`exp`), within JWT_MAX_AGE of when it was issued (or of now, without `iat`), and
 * must not claim to be issued or valid from later than now, give or take CLOCK_SKEW_S.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  private readonly maxAgeS: number;

  constructor(@Inject(authSettings.KEY) settings: AuthSettings) {
    const secret = settings.jwtSecret;
    const jwks = settings.jwksUri ? new JwksKeySet(settings.jwksUri) : undefined;
    const algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? ASYMMETRIC : [])];
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      algorithms: algorithms as never,
      ignoreExpiration: false,
      issuer: settings.issuer,
      audience: settings.audience,
      // exp is strict; nbf is judged in validate(), with the skew
      jsonWebTokenOptions: { ignoreNotBefore: true },
      secretOrKeyProvider: (_req: unknown, rawJwt: string, done: (error: Error | null, key?: string) => void) => {
        const { alg, kid } = headerOf(rawJwt);
        if (alg === 'HS256' && secret) return done(null, secret);
        if (typeof alg === 'string' && jwks && ASYMMETRIC.includes(alg)) {
          jwks.keyFor(kid, alg).then(
            (key) => done(null, key),
            (error: Error) => done(error instanceof KeyUnavailable ? error : new KeyUnavailable('no signing key')),
          );
          return;
        }
        return done(new KeyUnavailable(`tokens signed with ${String(alg)} are not accepted`));
      },
    });
    this.maxAgeS = settings.maxAgeS;
  }

  validate(payload: JwtPayload): AuthenticatedUser {
    const now = Math.floor(Date.now() / 1000);
    const { exp, iat, nbf } = payload;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) {
      throw new UnauthorizedException('The bearer token has no expiry ("exp"); tokens must expire.');
    }
    if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat) || iat > now + CLOCK_SKEW_S)) {
      throw new UnauthorizedException('The bearer token claims to be issued in the future ("iat").');
    }
    if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf > now + CLOCK_SKEW_S)) {
      throw new UnauthorizedException('The bearer token is not valid yet.');
    }
    const issuedAt = typeof iat === 'number' ? iat : now;
    if (exp - issuedAt > this.maxAgeS + CLOCK_SKEW_S) {
      throw new UnauthorizedException(
        `The bearer token lives longer than this server accepts (${this.maxAgeS} s); ask for a shorter-lived token.`,
      );
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 256) {
      throw new UnauthorizedException('The token has no usable "sub" claim; it must name the user.');
    }
    return { userId: payload.sub };
  }
}
