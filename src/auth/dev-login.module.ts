import { Module } from '@nestjs/common';
import { DevLoginController } from './dev-login.controller.js';

/** GET /api/auth/config and POST /api/auth/dev-token (AUTH_DEV_LOGIN), on instances serving the API. */
@Module({ controllers: [DevLoginController] })
export class DevLoginModule {}
