import { Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../common/auth/principal.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { clientInfo } from '../common/http/client-info.js';
import { AppConfig, type RateLimitedRoute } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { accountOf } from './account-of.js';
import { isAuthenticatedRoute } from './rate-limit-subject.js';
import { rateLimitedRouteOf } from './rate-limit-route.js';
import { RefusalLog } from './refusal-log.js';
import { parseRateLimitKey } from './throttler-options.js';

/**
 * `@nestjs/throttler`'s guard with this service's answers: only `@RateLimit()` routes are
 * limited (unless RATE_LIMIT_ENABLED=false); a refusal is a 429 RATE_LIMITED problem with
 * `Retry-After`, an audit event (`rate_limit.exceeded`, and `user.login_failed` on login)
 * and, on login, the `rate_limited` login outcome.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly refusals = new RefusalLog();
  private readonly log = new Logger('RateLimit');

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly moduleRef: ModuleRef,
  ) {
    super(options, storage, reflector);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    const route = rateLimitedRouteOf(context);
    return Promise.resolve(
      !this.config.rateLimit.enabled || !route || isAuthenticatedRoute(route) !== this.afterAuth,
    );
  }

  /** True for the route guard that limits authenticated routes (see `RateLimit`). */
  protected get afterAuth(): boolean {
    return false;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const route = rateLimitedRouteOf(context)!;
    const { scope } = parseRateLimitKey(detail.key);
    const retryAfterSeconds = Math.max(1, detail.timeToBlockExpire);
    if (route === 'login') this.metrics.loginOutcome('rate_limited');
    if (this.refusals.isFirst(detail.key, retryAfterSeconds * 1000)) {
      await this.recordRefusal(request, route, scope, detail, retryAfterSeconds).catch(
        (error: unknown) =>
          this.log.error(
            { err: error, requestId: request.id },
            'Could not record a rate-limit event',
          ),
      );
    }
    throw new AppError(ErrorCode.RATE_LIMITED, undefined, undefined, {
      'retry-after': String(retryAfterSeconds),
    });
  }

  private async recordRefusal(
    request: FastifyRequest,
    route: RateLimitedRoute,
    scope: string,
    detail: ThrottlerLimitDetail,
    retryAfterSeconds: number,
  ): Promise<void> {
    const client = clientInfo(request);
    const account = accountOf(route, request.body);
    // On an authenticated route the account is the caller; elsewhere the one the body
    // names: the identifier itself only when it is an account's, a keyed hash of anything else.
    const caller = (request as { user?: Principal }).user;
    const user = caller
      ? { id: caller.user.id }
      : account
        ? await this.moduleRef
            .get(UsersRepository, { strict: false })
            .findByLogin(account.kind, account.value)
        : undefined;
    const named = account ? this.audit.identifierMetadata(account, user !== undefined) : {};
    await this.audit.record({
      type: 'rate_limit.exceeded',
      userId: user?.id ?? null,
      actorId: null,
      client,
      metadata: {
        route,
        scope,
        limit: detail.limit,
        windowSeconds: Math.round(detail.ttl / 1000),
        retryAfterSeconds,
        ...named,
      },
    });
    if (route === 'login') {
      await this.audit.record({
        type: 'user.login_failed',
        userId: user?.id ?? null,
        actorId: null,
        client,
        metadata: { reason: 'rate_limited', ...named, retryAfterSeconds },
      });
    }
  }
}

/**
 * The same limits for routes whose account is the caller: used as a route guard (by
 * `RateLimit`), which Nest runs after the global guards, so `request.user` is set.
 */
@Injectable()
export class AuthenticatedRateLimitGuard extends RateLimitGuard {
  protected override get afterAuth(): boolean {
    return true;
  }
}
