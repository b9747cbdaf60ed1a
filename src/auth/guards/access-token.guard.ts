import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import {
  BEFORE_ENROLMENT,
  IS_PUBLIC,
  OPTIONAL_AUTH,
} from '../../common/decorators/public.decorator.js';
import { AppConfig } from '../../config/app-config.js';
import { SessionsRepository } from '../../sessions/sessions.repository.js';
import type { Principal } from '../../common/auth/principal.js';
import type { User } from '../../users/entities/user.entity.js';
import {
  extractAccessToken,
  type AccessTokenSubject,
  type VerifiedAccessToken,
} from '../strategies/jwt.strategy.js';
import { VerifiedTokenCache } from '../verified-token-cache.js';

type AuthenticatedRequest = FastifyRequest & { user?: unknown };

/**
 * The global guard: every route needs a valid access token unless it is `@Public()`.
 * `@OptionalAuth()` routes accept a token when one is sent and go on without it otherwise.
 *
 * passport-jwt (JwtStrategy) verifies a token the first time it is seen; the outcome is
 * remembered for that exact string (VerifiedTokenCache), `exp` and `nbf` checked again on
 * every use. A valid token is not enough: one query then checks, on every request, that
 * its session is still live and its user still active, so logout, revocation and
 * deactivation take effect at once. The user it reads is the caller (`request.user`) for
 * the rest of the request: roles and the handlers use it, without reading the user again.
 */
@Injectable()
export class AccessTokenGuard extends AuthGuard('jwt') {
  private readonly verifiedTokens = new VerifiedTokenCache();

  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionsRepository,
    private readonly config: AppConfig,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const subject = await this.verifiedSubject(context, request);
    const found = subject && (await this.sessions.findPrincipal(subject.sessionId, subject.userId));
    const principal: Principal<User> | undefined = found
      ? { user: found.user, sessionId: subject.sessionId, authenticatedAt: found.authenticatedAt }
      : undefined;
    request.user = principal;
    if (!principal && !this.reflector.getAllAndOverride<boolean>(OPTIONAL_AUTH, targets)) {
      throw new AppError(ErrorCode.UNAUTHORIZED);
    }
    if (
      principal &&
      this.mustEnrol(principal.user) &&
      !this.reflector.getAllAndOverride<boolean>(BEFORE_ENROLMENT, targets)
    ) {
      throw new AppError(ErrorCode.MFA_ENROLMENT_REQUIRED);
    }
    return true;
  }

  /** MFA_POLICY requires a second factor of this user, who has none yet. */
  private mustEnrol(user: User): boolean {
    const { policy } = this.config.mfa;
    if (policy === 'optional' || user.mfaEnabled) return false;
    return policy === 'required' || user.role === 'ADMIN';
  }

  /** Passport sets `request.user` to what JwtStrategy.validate answered. */
  override handleRequest<T>(error: unknown, verified: T | false): T {
    if (error || !verified) throw new AppError(ErrorCode.UNAUTHORIZED);
    return verified;
  }

  private async verifiedSubject(
    context: ExecutionContext,
    request: AuthenticatedRequest,
  ): Promise<AccessTokenSubject | undefined> {
    const token = extractAccessToken(request);
    if (!token) return undefined;
    const remembered = this.verifiedTokens.recall(token);
    if (remembered !== undefined) return remembered || undefined;
    try {
      await super.canActivate(context);
    } catch {
      return undefined; // bad signature, algorithm, issuer, audience, expired, malformed...
    }
    const verified = request.user as VerifiedAccessToken;
    this.verifiedTokens.remember(token, verified);
    return verified;
  }
}
