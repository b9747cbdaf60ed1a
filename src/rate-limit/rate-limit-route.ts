import type { ExecutionContext } from '@nestjs/common';
import type { RateLimitedRoute } from '../config/app-config.js';

/** The metadata `@RateLimit(route)` puts on a handler, and what the guard and keys read. */
export const RATE_LIMIT_ROUTE = 'rateLimit:route';

export function rateLimitedRouteOf(context: ExecutionContext): RateLimitedRoute | undefined {
  return Reflect.getMetadata(RATE_LIMIT_ROUTE, context.getHandler()) as
    RateLimitedRoute | undefined;
}
