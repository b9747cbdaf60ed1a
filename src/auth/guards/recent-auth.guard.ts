import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../common/auth/principal.js';
import { RECENT_AUTH, type RecentAuthRule } from '../../common/decorators/recent-auth.decorator.js';
import { AppError } from '../../common/errors/app-error.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { AppConfig } from '../../config/app-config.js';
import type { User } from '../../users/entities/user.entity.js';

/** The methods `POST /api/auth/reauthenticate` accepts from a user. */
export function reauthMethods(user: User): string[] {
  return user.mfaEnabled ? ['password', 'totp', 'recovery_code'] : ['password'];
}

/**
 * Enforces `@RequiresRecentAuth()` (a global guard, after authentication and roles): the
 * session's last authentication must be within REAUTH_MAX_AGE, else `403 REAUTH_REQUIRED`
 * naming the `methods` that renew it. Nothing of the route runs before it.
 */
@Injectable()
export class RecentAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const rule = this.reflector.getAllAndOverride<RecentAuthRule | undefined>(RECENT_AUTH, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!rule) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    const caller = request.user as Principal<User> | undefined;
    if (!caller) return true; // the access-token guard decided already
    if (rule !== true && !rule(request.body, caller)) return true;
    if (Date.now() - caller.authenticatedAt.getTime() <= this.config.mfa.reauthMaxAgeMs) {
      return true;
    }
    throw new AppError(ErrorCode.REAUTH_REQUIRED, undefined, undefined, undefined, {
      methods: reauthMethods(caller.user),
    });
  }
}
