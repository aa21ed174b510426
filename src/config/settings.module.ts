import { ConfigModule } from '@nestjs/config';
import { ALL_SETTINGS, validateEnvironment } from './settings.js';

/** The validated environment and every domain's settings, available everywhere. */
export const SettingsModule = ConfigModule.forRoot({
  isGlobal: true,
  cache: true,
  validate: validateEnvironment,
  load: ALL_SETTINGS,
});
