import { CanActivate, ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { authSettings, type AuthSettings } from '../config/settings.js';

/**
 * Lets a request reach development sign-in only when AUTH_DEV_LOGIN=true and NODE_ENV is not
 * production. A guard runs before body validation, so a disabled endpoint says "disabled" whatever
 * was sent to it.
 */
@Injectable()
export class DevLoginGuard implements CanActivate {
  constructor(@Inject(authSettings.KEY) private readonly settings: AuthSettings) {}

  canActivate(): boolean {
    if (this.settings.production) {
      throw new ForbiddenException(
        'Development sign-in is refused when NODE_ENV=production; use a token from your identity provider.',
      );
    }
    if (!this.settings.devLogin) {
      throw new NotFoundException(
        'Development sign-in is disabled; start the server with AUTH_DEV_LOGIN=true to use it.',
      );
    }
    return true;
  }
}
