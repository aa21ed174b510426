import { ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC } from './public.decorator.js';

/** Every route needs a valid bearer token unless it is marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    return isPublic ? true : super.canActivate(context);
  }

  override handleRequest<T>(error: unknown, user: T, info: unknown): T {
    if (error instanceof UnauthorizedException) throw error;
    if (user) return user;
    const reason = info instanceof Error ? info : undefined;
    if (!reason || /no auth token/i.test(reason.message)) {
      throw new UnauthorizedException('Missing bearer token: send "Authorization: Bearer <JWT>".');
    }
    if (reason.name === 'TokenExpiredError') {
      throw new UnauthorizedException('The bearer token has expired; sign in again.');
    }
    if (reason.name === 'NotBeforeError') {
      throw new UnauthorizedException('The bearer token is not valid yet.');
    }
    throw new UnauthorizedException('The bearer token is invalid.');
  }
}
