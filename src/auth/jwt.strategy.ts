import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { authSettings, type AuthSettings } from '../config/settings.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { BearerTokenStrategy } from './bearer-token.strategy.js';
import { JwksKeySet } from './jwks-key-set.js';

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

/** How far the issuer's clock may run ahead of ours (nbf, iat), in seconds; exp is strict. */
export const CLOCK_SKEW_S = 30;

const EXPIRED = 'The bearer token has expired; sign in again.';
const NO_EXPIRY = 'The bearer token has no expiry ("exp"); tokens must expire.';
const ISSUED_IN_THE_FUTURE = 'The bearer token claims to be issued in the future ("iat").';
const NOT_YET_VALID = 'The bearer token is not valid yet.';

/** What the client is told about a token jose refused. */
function refusal(error: unknown): UnauthorizedException {
  if (error instanceof errors.JWTExpired) return new UnauthorizedException(EXPIRED);
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf') {
    return new UnauthorizedException(NOT_YET_VALID);
  }
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'iat') {
    return new UnauthorizedException(ISSUED_IN_THE_FUTURE); // not a number
  }
  return new UnauthorizedException('The bearer token is invalid.');
}

/**
 * jose's jwtVerify with this server's keys: the key is chosen by the token's algorithm (jose has
 * refused any other first), so an HS256 token can never be checked against a public key.
 */
function tokenCheck(settings: AuthSettings): (token: string) => Promise<JWTPayload> {
  const secret = settings.jwtSecret ? new TextEncoder().encode(settings.jwtSecret) : undefined;
  const jwks = settings.jwksUri ? new JwksKeySet(settings.jwksUri) : undefined;
  const options: JWTVerifyOptions = {
    algorithms: [...(secret ? ['HS256'] : []), ...(jwks ? ASYMMETRIC : [])],
    issuer: settings.issuer,
    audience: settings.audience,
    // nbf (and exp, which validate() then takes strictly)
    clockTolerance: CLOCK_SKEW_S,
  };
  const keyFor: JWTVerifyGetKey = (header, token) => {
    if (header.alg === 'HS256' && secret) return secret;
    if (jwks && ASYMMETRIC.includes(header.alg)) return jwks.keyFor(header, token);
    throw new errors.JOSEAlgNotAllowed(`tokens signed with ${header.alg} are not accepted`);
  };
  return async (token) => {
    try {
      return (await jwtVerify(token, keyFor, options)).payload;
    } catch (error) {
      throw refusal(error);
    }
  };
}

/**
 * Bearer tokens: HS256 signed with JWT_SECRET, and/or RS/ES/PS tokens from an identity provider,
 * verified against its JWKS (JWT_JWKS_URI; see JwksKeySet for how unknown key ids are kept from
 * starving genuine ones). JWT_ISSUER and JWT_AUDIENCE are enforced when set. Every token must
 * expire (`exp`), within JWT_MAX_AGE of when it was issued (or of now, without `iat`), and must not
 * claim to be issued or valid from later than now, give or take CLOCK_SKEW_S. jose checks the
 * signature, the algorithm, iss, aud, nbf and the claims' types; validate() the rest.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(BearerTokenStrategy, 'jwt') {
  private readonly maxAgeS: number;

  constructor(@Inject(authSettings.KEY) settings: AuthSettings) {
    super(tokenCheck(settings));
    this.maxAgeS = settings.maxAgeS;
  }

  validate(payload: JWTPayload): AuthenticatedUser {
    const now = Math.floor(Date.now() / 1000);
    const { exp, iat } = payload;
    if (exp === undefined) throw new UnauthorizedException(NO_EXPIRY);
    if (exp <= now) throw new UnauthorizedException(EXPIRED);
    if (iat !== undefined && iat > now + CLOCK_SKEW_S) throw new UnauthorizedException(ISSUED_IN_THE_FUTURE);
    if (exp - (iat ?? now) > this.maxAgeS + CLOCK_SKEW_S) {
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
