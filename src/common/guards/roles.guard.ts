import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { Role } from '../auth/role.js';
import { ROLES } from '../decorators/roles.decorator.js';
import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-code.js';

/** Enforces `@Roles(...)` with the role read from the database by the access-token guard. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const principal = context
      .switchToHttp()
      .getRequest<FastifyRequest & { user?: Principal }>().user;
    if (!principal) throw new AppError(ErrorCode.UNAUTHORIZED);
    if (!roles.includes(principal.user.role)) throw new AppError(ErrorCode.FORBIDDEN);
    return true;
  }
}
