import { Body, Controller, ForbiddenException, Get, HttpCode, Inject, Logger, Post, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { authSettings, type AuthSettings } from '../config/settings.js';
import { DevLoginGuard } from './dev-login.guard.js';
import { AuthConfigView, DevTokenView } from './dto/auth-views.dto.js';
import { DevTokenDto } from './dto/dev-token.dto.js';
import { Public } from './public.decorator.js';
import { signHs256Token } from './sign-hs256-token.js';

/** Dev tokens last a working day: long enough for a session, short enough to be obviously temporary. */
const DEV_TOKEN_TTL_SECONDS = 8 * 60 * 60;

/**
 * Sign-in for development and tests: with AUTH_DEV_LOGIN=true anyone can get a token for any user
 * id, so it is refused whenever NODE_ENV=production. Real deployments hand the app a token from
 * their identity provider instead.
 */
@ApiTags('auth')
@Controller('api/auth')
export class DevLoginController {
  private readonly logger = new Logger(DevLoginController.name);
  private readonly enabled: boolean;
  private readonly production: boolean;

  constructor(@Inject(authSettings.KEY) private readonly settings: AuthSettings) {
    this.enabled = settings.devLogin;
    this.production = settings.production;
    if (this.enabled && this.production) {
      this.logger.warn('AUTH_DEV_LOGIN=true is ignored because NODE_ENV=production');
    } else if (this.enabled) {
      this.logger.warn('AUTH_DEV_LOGIN=true: POST /api/auth/dev-token signs anyone in (development only)');
    }
  }

  /** What the web app needs to know before it can sign in; no secrets. */
  @Public()
  @Get('config')
  @ApiOkResponse({ type: AuthConfigView })
  authConfig(): AuthConfigView {
    return { dev_login: this.enabled && !this.production };
  }

  @Public()
  @Post('dev-token')
  @HttpCode(201)
  @UseGuards(DevLoginGuard)
  @ApiCreatedResponse({ type: DevTokenView, description: 'A token for the user, valid for eight hours.' })
  @ApiProblems(
    400,
    [403, 'NODE_ENV=production (or no JWT_SECRET to sign with): development sign-in is refused.'],
    [404, 'AUTH_DEV_LOGIN is not true.'],
  )
  async devToken(@Body() dto: DevTokenDto): Promise<DevTokenView> {
    const secret = this.settings.jwtSecret;
    if (!secret) {
      throw new ForbiddenException('Development sign-in needs JWT_SECRET to sign tokens with; set it and restart.');
    }
    const token = await signHs256Token(dto.user_id, secret, DEV_TOKEN_TTL_SECONDS);
    return { token, user_id: dto.user_id, expires_in: DEV_TOKEN_TTL_SECONDS };
  }
}
