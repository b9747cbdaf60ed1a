import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { AppError } from '../../common/errors/app-error.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { IS_PUBLIC, OPTIONAL_AUTH } from '../../common/decorators/public.decorator.js';

/**
 * The global guard: every route needs a valid access token unless it is `@Public()`.
 * `@OptionalAuth()` routes accept a token when one is sent and go on without it otherwise.
 */
@Injectable()
export class AccessTokenGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    if (this.reflector.getAllAndOverride<boolean>(OPTIONAL_AUTH, targets)) {
      try {
        await super.canActivate(context);
      } catch {
        // No usable token: the route decides what to do without a caller.
      }
      return true;
    }
    return (await super.canActivate(context)) as boolean;
  }

  override handleRequest<T>(error: unknown, principal: T | false): T {
    if (error) throw error instanceof Error ? error : new AppError(ErrorCode.UNAUTHORIZED);
    if (!principal) throw new AppError(ErrorCode.UNAUTHORIZED);
    return principal;
  }
}
