import { createHash } from 'node:crypto';
import { normalizeEmail, normalizeUsername } from '../common/identifiers.js';

/** What a request names an account by: an email or a username, normalized. */
export interface LoginIdentifier {
  readonly kind: 'email' | 'username';
  readonly value: string;
}

export function emailIdentifier(email: string): LoginIdentifier {
  return { kind: 'email', value: normalizeEmail(email) };
}

export function usernameIdentifier(username: string): LoginIdentifier {
  return { kind: 'username', value: normalizeUsername(username) };
}

/** `email:ada@example.com`: the same account text whichever route or instance sees it. */
export function identifierKey(identifier: LoginIdentifier): string {
  return `${identifier.kind}:${identifier.value}`;
}

export function identifierHash(identifier: LoginIdentifier): Buffer {
  return createHash('sha256').update(identifierKey(identifier)).digest();
}

/** The identifiers of an account: its email, and its username when it has one. */
export function identifiersOf(user: { email: string; username: string | null }): LoginIdentifier[] {
  return [
    emailIdentifier(user.email),
    ...(user.username ? [usernameIdentifier(user.username)] : []),
  ];
}
