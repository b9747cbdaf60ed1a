import { createHash } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import type { ThrottlerModuleOptions, ThrottlerOptions } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { accountKeyOf, countsFor } from './rate-limit-subject.js';
import { rateLimitedRouteOf } from './rate-limit-route.js';

type Scope = 'ip' | 'account';
const SCOPES: readonly Scope[] = ['ip', 'account'];

/**
 * Two throttlers per limited route: `ip` (the client IP, IPv6 by /64, honouring
 * TRUST_PROXY through Fastify's `request.ip`) and `account` (the normalized email or
 * username the body names, the authenticated caller, or the presented token: see
 * `accountKeyOf`). A request must pass both, so one account
 * cannot be hammered from many IPs, nor many accounts from one IP. Once over a limit, a
 * key is refused for the rest of the window.
 */
export async function throttlerOptions(config: AppConfig): Promise<ThrottlerModuleOptions> {
  const { keyPrefix, routes } = config.rateLimit;
  const setting = (context: ExecutionContext, scope: Scope) => {
    const route = rateLimitedRouteOf(context);
    return route ? routes[route][scope] : null;
  };
  const request = (context: ExecutionContext) =>
    context.switchToHttp().getRequest<FastifyRequest>();
  const throttler = (scope: Scope): ThrottlerOptions => ({
    name: scope,
    limit: (context) => setting(context, scope)!.limit,
    ttl: (context) => setting(context, scope)!.windowMs,
    skipIf: (context) =>
      setting(context, scope) === null ||
      !countsFor(rateLimitedRouteOf(context)!, request(context)) ||
      (scope === 'account' &&
        accountKeyOf(rateLimitedRouteOf(context)!, request(context)) === undefined),
    ...(scope === 'account'
      ? {
          getTracker: (req, context) =>
            accountKeyOf(rateLimitedRouteOf(context)!, req as FastifyRequest)!,
        }
      : {}),
  });
  return {
    throttlers: SCOPES.map(throttler),
    // Only Retry-After, on refusals: no X-RateLimit-* headers telling a client its budget.
    setHeaders: false,
    generateKey: (context, tracker, scope) =>
      rateLimitKey(rateLimitedRouteOf(context)!, scope, tracker),
    // No Redis connection at all when limits are off (benchmarks), and the Redis client
    // (ioredis, some 6 MB of memory) is only loaded when it is used.
    storage:
      config.redisUrl && config.rateLimit.enabled
        ? new (await import('./redis-rate-limit-storage.js')).RedisRateLimitStorage(
            config.redisUrl,
            keyPrefix,
          )
        : undefined,
  };
}

/** `login:account:<sha256>`: the route, the scope and a hash (no address in Redis). */
function rateLimitKey(route: string, scope: string, tracker: string): string {
  return `${route}:${scope}:${createHash('sha256').update(tracker).digest('hex')}`;
}

export function parseRateLimitKey(key: string): { route: string; scope: string } {
  const [route, scope] = key.split(':');
  return { route, scope };
}
