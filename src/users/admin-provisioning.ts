import type { EntityManager } from 'typeorm';
import { AuditRepository } from '../audit/audit.repository.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import type { User } from './entities/user.entity.js';
import { UsersRepository } from './users.repository.js';

/**
 * Arbitrary constant: the transaction-level advisory lock that serializes admin
 * provisioning, so two instances starting together create one admin, not two (nor a
 * 409 for the second).
 */
const ADMIN_PROVISIONING_LOCK = 7_301_955_000_422;

export type AdminOutcome =
  /** Start-up only: an active admin exists, nothing was done. */
  'admin-exists' | 'created' | 'promoted' | 'already-admin';

export interface AdminRequest {
  email: string;
  /** Already hashed; `undefined` keeps an existing user's password (creation needs one). */
  passwordHash: string | undefined;
}

export class PasswordRequiredError extends Error {
  override readonly name = 'PasswordRequiredError';
}

/**
 * Creates or promotes an admin, shared by the start-up bootstrap and `npm run create-admin`.
 * Admins made this way are active and have a verified email (the operator vouches for it).
 */
export class AdminProvisioning {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly audit: AuditRepository,
    /** Recorded in the audit events (`metadata.via`): there is no actor to name. */
    private readonly via: 'bootstrap' | 'cli',
  ) {}

  /** Start-up: makes `request.email` an admin only when no active admin exists. */
  bootstrap(request: AdminRequest): Promise<AdminOutcome> {
    return this.locked(async (tx) =>
      (await this.users.hasActiveAdmin(tx)) ? 'admin-exists' : this.ensure(tx, request),
    );
  }

  /** CLI: makes `request.email` an active admin, creating the account when needed. */
  ensureAdmin(request: AdminRequest): Promise<AdminOutcome> {
    return this.locked((tx) => this.ensure(tx, request));
  }

  private locked(work: (tx: EntityManager) => Promise<AdminOutcome>): Promise<AdminOutcome> {
    return this.users.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_PROVISIONING_LOCK]);
      return work(tx);
    });
  }

  private async ensure(tx: EntityManager, request: AdminRequest): Promise<AdminOutcome> {
    const existing = await this.users.findByLogin('email', request.email, tx);
    if (!existing) {
      if (!request.passwordHash) throw new PasswordRequiredError(request.email);
      const user = await this.users.insert(
        {
          email: request.email,
          username: null,
          passwordHash: request.passwordHash,
          firstName: null,
          lastName: null,
          role: 'ADMIN',
          active: true,
          emailVerified: true,
        },
        tx,
      );
      await this.record(tx, 'user.created', user.id, {
        email: user.email,
        role: user.role,
        active: user.active,
      });
      return 'created';
    }
    if (isActiveAdmin(existing) && !request.passwordHash) return 'already-admin';
    await this.promote(tx, existing, request.passwordHash);
    return isActiveAdmin(existing) ? 'already-admin' : 'promoted';
  }

  /**
   * A new password also ends the account's sessions: whoever registered that email
   * before the operator made it an admin must not keep a way in.
   */
  private async promote(tx: EntityManager, user: User, passwordHash: string | undefined) {
    await this.users.update(
      user.id,
      { role: 'ADMIN', active: true, emailVerified: true, passwordHash },
      tx,
    );
    if (passwordHash) await this.sessions.revokeAllOfUser(user.id, undefined, tx);
    const fields = [
      ...(user.role === 'ADMIN' ? [] : ['role']),
      ...(user.active ? [] : ['active']),
      ...(user.emailVerified ? [] : ['emailVerified']),
      ...(passwordHash ? ['password'] : []),
    ];
    if (fields.length) await this.record(tx, 'user.updated', user.id, { fields });
  }

  private record(
    tx: EntityManager,
    type: 'user.created' | 'user.updated',
    userId: string,
    metadata: Record<string, unknown>,
  ): Promise<void> {
    return this.audit.insert(
      {
        type,
        userId,
        actorId: null,
        ip: null,
        userAgent: null,
        metadata: { ...metadata, via: this.via, requestId: null },
      },
      tx,
    );
  }
}

function isActiveAdmin(user: User): boolean {
  return user.role === 'ADMIN' && user.active;
}
