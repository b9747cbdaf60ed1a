// Unit tests: what an admin's or a user's update changes, what the audit event shows, and
// when sessions end or the last admin is protected (src/users/user-changes.ts).
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/common/errors/app-error.js';
import type { User } from '../../src/users/entities/user.entity.js';
import {
  assertAnotherAdmin,
  changedFields,
  changesFrom,
  revokesSessions,
  touchesAdminStatus,
} from '../../src/users/user-changes.js';

const user = (overrides: Partial<User> = {}): User => ({
  id: '11111111-1111-4111-8111-111111111111',
  email: 'ada@example.com',
  username: 'ada',
  passwordHash: '$argon2id$…',
  firstName: 'Ada',
  lastName: null,
  role: 'USER',
  active: true,
  emailVerified: true,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  lastLoginAt: null,
  externalId: null,
  mfaEnabled: false,
  ...overrides,
});

describe('changesFrom', () => {
  it('marks a new email unverified unless emailVerified says otherwise', () => {
    expect(changesFrom({ email: 'new@example.com' }, user(), undefined).emailVerified).toBe(false);
    expect(
      changesFrom({ email: 'new@example.com', emailVerified: true }, user(), undefined)
        .emailVerified,
    ).toBe(true);
  });

  it('leaves emailVerified alone when the email is the same', () => {
    expect(changesFrom({ email: 'ada@example.com' }, user(), undefined).emailVerified).toBe(
      undefined,
    );
  });

  it('carries the new hash, never the password', () => {
    const changes = changesFrom({ password: 'secret words here' }, user(), 'HASH');
    expect(changes.passwordHash).toBe('HASH');
    expect(JSON.stringify(changes)).not.toContain('secret words here');
  });
});

describe('changedFields', () => {
  it('shows old and new values of visible fields, and only names a new password', () => {
    const changed = changedFields(user(), user({ firstName: 'Augusta', role: 'ADMIN' }), 'HASH');
    expect(changed.fields).toEqual(['firstName', 'role', 'password']);
    expect(changed.changes).toEqual({
      firstName: { from: 'Ada', to: 'Augusta' },
      role: { from: 'USER', to: 'ADMIN' },
    });
    expect(JSON.stringify(changed)).not.toContain('HASH');
  });

  it('is empty when nothing changed', () => {
    expect(changedFields(user(), user(), undefined)).toEqual({ fields: [], changes: {} });
  });
});

describe('revokesSessions', () => {
  it.each([
    ['a new password', user(), user(), 'HASH', true],
    ['deactivation', user(), user({ active: false }), undefined, true],
    ['a role change', user(), user({ role: 'ADMIN' }), undefined, true],
    ['a new first name', user(), user({ firstName: 'Augusta' }), undefined, false],
    ['reactivation', user({ active: false }), user(), undefined, false],
  ] as const)('%s: %s', (_what, before, after, hash, expected) => {
    expect(revokesSessions(before, after, hash)).toBe(expected);
  });
});

describe('the last admin', () => {
  const admin = user({ role: 'ADMIN' });

  it('may not lose the last active admin', () => {
    expect(() => assertAnotherAdmin(admin, [admin.id])).toThrow(AppError);
    expect(() => assertAnotherAdmin(admin, [])).toThrow(AppError);
  });

  it('may when another active admin remains, and never cares about non-admins', () => {
    expect(() => assertAnotherAdmin(admin, [admin.id, 'other'])).not.toThrow();
    expect(() => assertAnotherAdmin(user(), [])).not.toThrow();
    expect(() => assertAnotherAdmin(user({ role: 'ADMIN', active: false }), [])).not.toThrow();
  });

  it('is only checked (admins locked) for updates of role or active', () => {
    expect(touchesAdminStatus({ role: 'USER' })).toBe(true);
    expect(touchesAdminStatus({ active: true })).toBe(true);
    expect(touchesAdminStatus({ firstName: 'x' })).toBe(false);
  });
});
