import { expect } from 'vitest';
import { UUID_RE } from './http.js';

/** The User resource's fields, exactly (API.md "Resources"). */
export const USER_FIELDS = [
  'active',
  'createdAt',
  'email',
  'emailVerified',
  'externalId',
  'firstName',
  'id',
  'lastLoginAt',
  'lastName',
  'mfaEnabled',
  'role',
  'updatedAt',
  'username',
];

export const ISO_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Asserts the shape of a User resource: exactly the documented fields with the right types. */
export function expectUser(user: any): void {
  expect(user, 'user').toBeTypeOf('object');
  expect(Object.keys(user).sort()).toEqual(USER_FIELDS);
  expect(user.id).toMatch(UUID_RE);
  expect(user.email).toBeTypeOf('string');
  expect(['USER', 'ADMIN']).toContain(user.role);
  expect(user.active).toBeTypeOf('boolean');
  expect(user.emailVerified).toBeTypeOf('boolean');
  expect(user.mfaEnabled).toBeTypeOf('boolean');
  expect(user.createdAt).toMatch(ISO_UTC_RE);
  expect(user.updatedAt).toMatch(ISO_UTC_RE);
  if (user.lastLoginAt !== null) expect(user.lastLoginAt).toMatch(ISO_UTC_RE);
  for (const k of ['username', 'firstName', 'lastName', 'externalId']) {
    if (user[k] !== null) expect(user[k], k).toBeTypeOf('string');
  }
}

/** Asserts an OAuth-style token response (API.md "Token response", body transport). */
export function expectTokenResponse(body: any, expiresIn = 900): void {
  expect(Object.keys(body).sort()).toEqual([
    'access_token',
    'expires_in',
    'refresh_token',
    'token_type',
    'user',
  ]);
  expect(body.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(body.token_type).toBe('Bearer');
  expect(body.expires_in).toBe(expiresIn);
  expect(body.refresh_token).toBeTypeOf('string');
  // At least 256 random bits: 43 base64url or 64 hex characters.
  expect(body.refresh_token.length).toBeGreaterThanOrEqual(43);
  expectUser(body.user);
}
