import { CanActivate, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/environment.js';

/**
 * Lets a request reach development sign-in only when AUTH_DEV_LOGIN=true and NODE_ENV is not
 * production. A guard runs before body validation, so a disabled endpoint says "disabled" whatever
 * was sent to it.
 */
@Injectable()
export class DevLoginGuard implements CanActivate {
  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {}

  canActivate(): boolean {
    if (this.config.get('NODE_ENV', { infer: true }) === 'production') {
      throw new ForbiddenException(
        'Development sign-in is refused when NODE_ENV=production; use a token from your identity provider.',
      );
    }
    if (!this.config.get('AUTH_DEV_LOGIN', { infer: true })) {
      throw new NotFoundException(
        'Development sign-in is disabled; start the server with AUTH_DEV_LOGIN=true to use it.',
      );
    }
    return true;
  }
}
