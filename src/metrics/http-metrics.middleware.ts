import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ServiceMetrics } from './service-metrics.js';

/** Times every request, labelled by the route pattern (not the URL, which holds ids). */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: ServiceMetrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.metrics.httpDuration.startTimer();
    res.once('close', () => {
      const pattern = (req.route as { path?: string } | undefined)?.path;
      end({
        method: req.method,
        route: pattern ? `${req.baseUrl}${pattern}` : 'unmatched',
        status: res.headersSent ? String(res.statusCode) : 'aborted',
      });
    });
    next();
  }
}
