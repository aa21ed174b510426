import { ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';

/** Rate limits per signed-in user (per address for anonymous calls), answering 429 with Retry-After. */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(req: { user?: { userId?: string }; ip?: string }): Promise<string> {
    return Promise.resolve(req.user?.userId ? `user:${req.user.userId}` : `ip:${req.ip}`);
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const seconds = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    throw new HttpException(
      {
        message: `Too many requests: at most ${detail.limit} per minute; retry in ${seconds} second${seconds === 1 ? '' : 's'}.`,
        retryAfter: seconds,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
