import { SetMetadata } from '@nestjs/common';
import type { Role } from '../auth/role.js';

export const ROLES = 'auth:roles';

/** Restricts a route to callers whose role is one of `roles` (checked by `RolesGuard`). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);
