import { type DynamicModule, Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { rootLogger } from '../logging/root-logger.js';

/** Where `npm run build:web` puts the React app, seen from dist/web-app/. */
export const WEB_APP_DIR = resolve(import.meta.dirname, '../../web/dist');

/** Paths that belong to the server: never answered with the app's index.html. */
const SERVER_PATHS = /^\/(api|health|docs(-json|-yaml)?|metrics)(\/|$)/;

/** Vite names built assets by content hash, so they can be cached for good; index.html never. */
function cacheHeaders(res: Response, path: string): void {
  res.setHeader(
    'Cache-Control',
    path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
  );
}

/**
 * Serves the built web app at / with a fallback to index.html for the app's own routes, when it has
 * been built; an API-only deployment (no web/dist) simply has no app.
 */
@Module({})
export class WebAppModule {
  static forBuiltApp(dir = WEB_APP_DIR): DynamicModule {
    if (!existsSync(join(dir, 'index.html'))) {
      rootLogger()
        .child({ context: 'WebApp' })
        .info(`no built web app in ${dir}: serving the API only (npm run build:web builds it)`);
      return { module: WebAppModule };
    }
    return {
      module: WebAppModule,
      imports: [
        ServeStaticModule.forRoot({
          rootPath: dir,
          exclude: SERVER_PATHS,
          serveStaticOptions: { index: 'index.html', setHeaders: cacheHeaders },
        }),
      ],
    };
  }
}
