import type { Role } from './role.js';

/** What the guards in `common/` read of the authenticated user. */
export interface PrincipalUser {
  readonly id: string;
  readonly role: Role;
}

/**
 * The authenticated caller of a request, as the access-token guard found it in the
 * database. `U` is the user record the guard loaded (the users module's `User`); `common/`
 * knows only its id and role.
 */
export interface Principal<U extends PrincipalUser = PrincipalUser> {
  readonly user: U;
  readonly sessionId: string;
  /** When the user last proved who they are in this session (login or reauthentication). */
  readonly authenticatedAt: Date;
}
