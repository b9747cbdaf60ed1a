import type { AuditService } from '../audit/audit.service.js';
import type { TransactionHost, TypeOrmTx } from '../database/transactions.js';
import type { SessionsService } from '../sessions/sessions.service.js';
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
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly txHost: TransactionHost<TypeOrmTx>,
    /** Recorded in the audit events (`metadata.via`): there is no actor to name. */
    private readonly via: 'bootstrap' | 'cli',
  ) {}

  /** Start-up: makes `request.email` an admin only when no active admin exists. */
  bootstrap(request: AdminRequest): Promise<AdminOutcome> {
    return this.locked(async () =>
      (await this.users.hasActiveAdmin()) ? 'admin-exists' : this.ensure(request),
    );
  }

  /** CLI: makes `request.email` an active admin, creating the account when needed. */
  ensureAdmin(request: AdminRequest): Promise<AdminOutcome> {
    return this.locked(() => this.ensure(request));
  }

  /** Not a decorator: this class is built by hand for the CLI as well as by Nest. */
  private locked(work: () => Promise<AdminOutcome>): Promise<AdminOutcome> {
    return this.txHost.withTransaction(async () => {
      await this.users.lockForProvisioning(ADMIN_PROVISIONING_LOCK);
      return work();
    });
  }

  private async ensure(request: AdminRequest): Promise<AdminOutcome> {
    const existing = await this.users.findByLogin('email', request.email);
    if (!existing) {
      if (!request.passwordHash) throw new PasswordRequiredError(request.email);
      const user = await this.users.insert({
        email: request.email,
        username: null,
        passwordHash: request.passwordHash,
        firstName: null,
        lastName: null,
        role: 'ADMIN',
        active: true,
        emailVerified: true,
      });
      await this.record('user.created', user.id, {
        email: user.email,
        role: user.role,
        active: user.active,
      });
      return 'created';
    }
    if (isActiveAdmin(existing) && !request.passwordHash) return 'already-admin';
    await this.promote(existing, request.passwordHash);
    return isActiveAdmin(existing) ? 'already-admin' : 'promoted';
  }

  /**
   * A new password also ends the account's sessions: whoever registered that email
   * before the operator made it an admin must not keep a way in.
   */
  private async promote(user: User, passwordHash: string | undefined) {
    await this.users.update(user.id, {
      role: 'ADMIN',
      active: true,
      emailVerified: true,
      passwordHash,
    });
    if (passwordHash) await this.sessions.revokeAllOfUser(user.id);
    const fields = [
      ...(user.role === 'ADMIN' ? [] : ['role']),
      ...(user.active ? [] : ['active']),
      ...(user.emailVerified ? [] : ['emailVerified']),
      ...(passwordHash ? ['password'] : []),
    ];
    if (fields.length) await this.record('user.updated', user.id, { fields });
  }

  private record(
    type: 'user.created' | 'user.updated',
    userId: string,
    metadata: Record<string, unknown>,
  ): Promise<void> {
    return this.audit.record({
      type,
      userId,
      actorId: null,
      client: { ip: null, userAgent: null, requestId: null },
      metadata: { ...metadata, via: this.via },
    });
  }
}

function isActiveAdmin(user: User): boolean {
  return user.role === 'ADMIN' && user.active;
}
