import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { IS_PUBLIC, OPTIONAL_AUTH } from '../../common/decorators/public.decorator.js';
import { SessionsRepository } from '../../sessions/sessions.repository.js';
import { AccessTokenVerifier } from '../access-token-verifier.js';
import type { Principal } from '../principal.js';

/** `Authorization: Bearer <token>`, the scheme compared case-insensitively. */
const AUTHORIZATION = /(\S+)\s+(\S+)/;

/**
 * The global guard: every route needs a valid access token unless it is `@Public()`.
 * `@OptionalAuth()` routes accept a token when one is sent and go on without it otherwise.
 *
 * A valid token (AccessTokenVerifier) is not enough: one query then checks that its
 * session is still live and its user still active, so logout, revocation and deactivation
 * take effect at once. The user it reads is the caller (`request.user`) for the rest of
 * the request: roles and the handlers use it, without reading the user again.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokenVerifier,
    private readonly sessions: SessionsRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    const principal = await this.authenticate(request);
    if (principal) request.user = principal;
    else if (!this.reflector.getAllAndOverride<boolean>(OPTIONAL_AUTH, targets)) {
      throw new AppError(ErrorCode.UNAUTHORIZED);
    }
    return true;
  }

  private async authenticate(request: FastifyRequest): Promise<Principal | undefined> {
    const token = bearerToken(request.headers.authorization);
    const subject = token === undefined ? undefined : this.tokens.verify(token);
    if (!subject) return undefined;
    const user = await this.sessions.findPrincipal(subject.sessionId, subject.userId);
    return user && { user, sessionId: subject.sessionId };
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = typeof header === 'string' ? AUTHORIZATION.exec(header) : null;
  return match && match[1].toLowerCase() === 'bearer' ? match[2] : undefined;
}
