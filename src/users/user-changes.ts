import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { UpdateUserDto } from './dto/update-user.dto.js';
import type { User } from './entities/user.entity.js';
import type { UserChanges } from './users.repository.js';

/*
 * What an update of a user changes, and what follows from it (pure functions, unit-tested
 * in test/unit/user-changes.test.ts): the columns to set, the fields the audit event shows,
 * whether the user's sessions end, whether the last active admin would be lost.
 */

/** Only role and active decide whether someone is an active admin; deletion always may. */
export function touchesAdminStatus(dto: UpdateUserDto): boolean {
  return dto.role !== undefined || dto.active !== undefined;
}

/** Throws LAST_ADMIN when `user` is an active admin and no other active admin exists. */
export function assertAnotherAdmin(user: User, lockedActiveAdminIds: string[]): void {
  if (user.role !== 'ADMIN' || !user.active) return;
  if (!lockedActiveAdminIds.some((id) => id !== user.id)) throw new AppError(ErrorCode.LAST_ADMIN);
}

export function changesFrom(
  dto: UpdateUserDto,
  before: User,
  passwordHash: string | undefined,
): UserChanges {
  const emailChanged = dto.email !== undefined && dto.email !== before.email;
  return {
    email: dto.email,
    username: dto.username,
    firstName: dto.firstName,
    lastName: dto.lastName,
    role: dto.role,
    active: dto.active,
    emailVerified: dto.emailVerified ?? (emailChanged ? false : undefined),
    passwordHash,
  };
}

/** Fields an audit event may show the old and new values of. */
const VISIBLE_FIELDS = [
  'email',
  'username',
  'firstName',
  'lastName',
  'role',
  'active',
  'emailVerified',
] as const;

/**
 * What an update changed, for `user.updated`: the names of the changed fields, and the old
 * and new values of those that are not secret (a new password is only named).
 */
export function changedFields(
  before: User,
  after: User,
  passwordHash: string | undefined,
): { fields: string[]; changes: Record<string, { from: unknown; to: unknown }> } {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of VISIBLE_FIELDS) {
    if (before[field] !== after[field]) changes[field] = { from: before[field], to: after[field] };
  }
  const fields = Object.keys(changes);
  if (passwordHash !== undefined) fields.push('password');
  return { fields, changes };
}

export function revokesSessions(
  before: User,
  after: User,
  passwordHash: string | undefined,
): boolean {
  return (
    passwordHash !== undefined || (before.active && !after.active) || before.role !== after.role
  );
}
