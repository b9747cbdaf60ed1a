import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { RateLimitedRoute } from '../config/app-config.js';

export const RATE_LIMIT_ROUTE = 'rateLimit:route';

/**
 * Puts a route under the `RATE_LIMIT_<ROUTE>_IP` / `_ACCOUNT` limits (see the rate-limit
 * guard). Routes without it are not limited.
 */
export const RateLimit = (route: RateLimitedRoute) => SetMetadata(RATE_LIMIT_ROUTE, route);

export function rateLimitedRouteOf(context: ExecutionContext): RateLimitedRoute | undefined {
  return Reflect.getMetadata(RATE_LIMIT_ROUTE, context.getHandler()) as
    RateLimitedRoute | undefined;
}
