import type { CorsOptions, CorsOptionsDelegate } from '@nestjs/common/interfaces/external/cors-options.interface.js';
import type { Request } from 'express';

/** What a tus client sends (besides Authorization and Content-Type), and what it must read back. */
const TUS_REQUEST_HEADERS = [
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Defer-Length',
  'Upload-Metadata',
  'Upload-Offset',
];
const TUS_RESPONSE_HEADERS = [
  'Location',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Defer-Length',
  'Upload-Metadata',
  'Upload-Expires',
];
/** Response headers the API's own clients read. */
export const API_RESPONSE_HEADERS = ['Retry-After', 'Content-Disposition', 'X-Request-Id'];

/**
 * Cross-origin calls from CORS_ORIGINS, tus uploads included (their methods and headers). An OPTIONS
 * under /api/uploads is tus discovery as well as a preflight: the route answers it (204 with the tus
 * headers), with the CORS headers set here; elsewhere the CORS middleware answers preflights itself.
 */
export function corsOptions(origins: string[], uploadsPath: string): CorsOptionsDelegate<Request> {
  const options: CorsOptions = {
    origin: origins,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'X-Request-Id', ...TUS_REQUEST_HEADERS],
    exposedHeaders: [...API_RESPONSE_HEADERS, ...TUS_RESPONSE_HEADERS],
    maxAge: 600,
  };
  return (req, callback) => {
    const path = req.url ?? '';
    const discovery = path === uploadsPath || path.startsWith(`${uploadsPath}/`) || path.startsWith(`${uploadsPath}?`);
    callback(null, { ...options, preflightContinue: discovery });
  };
}
