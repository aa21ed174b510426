import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { type EnvironmentRule, readEnvironment } from '../read-environment.js';
import { emptyToUndefined, IntegerSetting, toBoolean } from '../setting-rules.js';
import { ServerEnvironment } from './server.settings.js';

/** Bearer tokens: signed with JWT_SECRET, or by an identity provider whose keys JWT_JWKS_URI serves. */
export class AuthEnvironment {
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'JWT_SECRET must be at least 16 characters long' })
  JWT_SECRET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: "JWT_JWKS_URI must be the http(s) URL of your identity provider's JWKS" })
  JWT_JWKS_URI?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  /** The longest lifetime (exp - iat, in seconds) a bearer token may have; longer ones are refused. */
  @IntegerSetting(60, 30 * 86_400, 'JWT_MAX_AGE must be a whole number of seconds from 60 to 2592000 (30 days)')
  JWT_MAX_AGE = 86_400;

  /**
   * Development sign-in: POST /api/auth/dev-token mints a token for any user id. Refused whenever
   * NODE_ENV=production, whatever this says.
   */
  @Transform(toBoolean)
  @IsBoolean({ message: 'AUTH_DEV_LOGIN must be true or false' })
  AUTH_DEV_LOGIN = false;
}

export const authSettings = registerAs('auth', () => {
  const e = readEnvironment([AuthEnvironment, ServerEnvironment]);
  return {
    production: e.NODE_ENV === 'production',
    jwtSecret: e.JWT_SECRET,
    jwksUri: e.JWT_JWKS_URI,
    issuer: e.JWT_ISSUER,
    audience: e.JWT_AUDIENCE,
    maxAgeS: e.JWT_MAX_AGE,
    devLogin: e.AUTH_DEV_LOGIN,
  };
});

export type AuthSettings = ConfigType<typeof authSettings>;

/** Outside production a missing JWT_SECRET is replaced by a development secret (main.ts). */
export const authRules: EnvironmentRule<AuthEnvironment & ServerEnvironment>[] = [
  (e) =>
    e.NODE_ENV === 'production' && !e.JWT_SECRET && !e.JWT_JWKS_URI
      ? 'JWT_SECRET must be set when NODE_ENV=production'
      : undefined,
  (e) =>
    e.NODE_ENV === 'production' && e.JWT_JWKS_URI?.startsWith('http://')
      ? 'JWT_JWKS_URI must use https when NODE_ENV=production (keys fetched over plain http can be forged in transit)'
      : undefined,
];
