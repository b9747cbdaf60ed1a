import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import type { RateLimitedRoute } from '../config/app-config.js';
import { RATE_LIMIT_ROUTE } from './rate-limit-route.js';
import { isAuthenticatedRoute } from './rate-limit-subject.js';
import { AuthenticatedRateLimitGuard } from './rate-limit.guard.js';

/**
 * Puts a route under the `RATE_LIMIT_<ROUTE>_IP` / `_ACCOUNT` limits (see the rate-limit
 * guard). Routes without it are not limited. On a route whose account is the caller (the
 * authenticated user id: change-password, DELETE /users/me, the admin's password writes),
 * the limits are checked by a route guard, which Nest runs after the global ones: after
 * authentication, so the caller is known.
 */
export const RateLimit = (route: RateLimitedRoute) =>
  applyDecorators(
    SetMetadata(RATE_LIMIT_ROUTE, route),
    ...(isAuthenticatedRoute(route) ? [UseGuards(AuthenticatedRateLimitGuard)] : []),
  );
