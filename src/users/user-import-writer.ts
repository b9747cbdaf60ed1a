import { randomUUID } from 'node:crypto';
import { QueryFailedError } from 'typeorm';
import type { TransactionHost, TypeOrmTx } from '../database/transactions.js';
import type { UsersRepository } from './users.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { SessionsRepository } from '../sessions/sessions.repository.js';
import type { User } from './entities/user.entity.js';
import {
  type BatchResult,
  type BatchRow,
  type ConflictMode,
  type ImportRow,
  type ImportWriter,
  type RowOutcome,
  type WriteSettings,
} from './user-import.js';

/**
 * Every database write of a user import (docs/migration.md), one transaction per batch:
 * the rows are matched against existing users (by id, externalId, email and username,
 * locked), new ones inserted in one statement, existing ones skipped, updated or refused
 * by `--on-conflict`, the last-admin rule checked, and one `user.imported` event written.
 * A batch with any refused row writes nothing; a dry run does all of it and rolls back.
 */
export interface ImportContext {
  /** `cli` or `api`, in the audit event. */
  source: 'cli' | 'api';
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId?: string | undefined;
  /**
   * Runs in the batch's transaction (repositories reading `txHost.tx` join it) with the
   * active, unverified users it inserted: `--send-verification`.
   */
  afterInsert?: (users: { id: string; email: string }[]) => Promise<void>;
}

type Planned =
  | { line: number; action: 'insert'; row: ImportRow; id: string }
  | { line: number; action: 'update'; row: ImportRow; existing: User }
  | { line: number; action: 'skip'; existing: User };

/** Thrown out of a dry run's transaction, so that it rolls back, with what it would do. */
class DryRunDone extends Error {
  constructor(readonly outcomes: { line: number; outcome: RowOutcome; userId: string }[]) {
    super('dry run');
  }
}

class BatchRefused extends Error {
  constructor(readonly errors: { line: number; message: string }[]) {
    super('batch refused');
  }
}

/** The owners of the tables an import writes. */
export interface ImportStores {
  users: UsersRepository;
  sessions: SessionsRepository;
  audit: AuditService;
}

/**
 * Built by hand with the caller's context (the CLI and the import route): a batch is one
 * `withTransaction` on the app's TransactionHost, which the repositories join.
 */
export class UserImportWriter implements ImportWriter {
  constructor(
    private readonly txHost: TransactionHost<TypeOrmTx>,
    private readonly stores: ImportStores,
    private readonly context: ImportContext,
  ) {}

  async writeBatch(rows: BatchRow[], settings: WriteSettings): Promise<BatchResult> {
    try {
      const outcomes = await this.txHost.withTransaction(async () => {
        const done = await this.write(rows, settings);
        if (settings.dryRun) throw new DryRunDone(done);
        return done;
      });
      return { ok: true, outcomes };
    } catch (error) {
      if (error instanceof DryRunDone) return { ok: true, outcomes: error.outcomes };
      if (error instanceof BatchRefused) return { ok: false, errors: error.errors };
      // A user registered (or imported) meanwhile with the same email: the batch is refused.
      if (
        error instanceof QueryFailedError &&
        (error.driverError as { code?: string }).code === '23505'
      ) {
        return {
          ok: false,
          errors: rows.map(({ line }) => ({
            line,
            message:
              'a unique value (email, username, id or externalId) was taken while the batch was written; run again',
          })),
        };
      }
      throw error;
    }
  }

  private async write(
    rows: BatchRow[],
    settings: WriteSettings,
  ): Promise<{ line: number; outcome: RowOutcome; userId: string }[]> {
    const { users, sessions, audit } = this.stores;
    const existing = await users.lockImportMatches(rows.map(({ row }) => row));
    const plan = planBatch(rows, existing, settings.onConflict);
    const missing = plan.filter((p) => p.action === 'insert' && p.row.passwordHash === undefined);
    if (missing.length > 0 && !settings.options.allowNoPassword) {
      throw new BatchRefused(
        missing.map((p) => ({
          line: p.line,
          message:
            'passwordHash: a new user needs one; --allow-no-password imports the user without one',
        })),
      );
    }

    const updates = plan.filter((p) => p.action === 'update');
    const demotions = updates.filter(
      (p) =>
        p.existing.role === 'ADMIN' &&
        p.existing.active &&
        ((p.row.role !== undefined && p.row.role !== 'ADMIN') || p.row.active === false),
    );
    if (demotions.length > 0) {
      // Locked like UsersService does, so that a concurrent demotion cannot pass too.
      await users.lockActiveAdminIds();
    }

    const inserts = plan.filter((p) => p.action === 'insert');
    if (inserts.length > 0) {
      await users.insertImported(inserts.map((p) => ({ id: p.id, row: p.row })));
    }
    for (const p of updates) {
      await users.updateImported(p.existing.id, p.row);
      if (revokesSessions(p.existing, p.row)) await sessions.revokeAllOfUser(p.existing.id);
    }
    if (demotions.length > 0) {
      if (!(await users.hasActiveAdmin())) {
        throw new BatchRefused(
          demotions.map((p) => ({
            line: p.line,
            message: 'LAST_ADMIN: this change would leave no active admin',
          })),
        );
      }
    }

    const counts = { inserted: inserts.length, updated: updates.length };
    await audit.record({
      type: 'user.imported',
      userId: null,
      actorId: this.context.actorId,
      client: {
        ip: this.context.ip,
        userAgent: this.context.userAgent,
        requestId: this.context.requestId ?? null,
      },
      metadata: {
        source: this.context.source,
        ...counts,
        skipped: plan.length - counts.inserted - counts.updated,
        firstLine: rows[0]?.line,
        lastLine: rows.at(-1)?.line,
      },
    });

    if (this.context.afterInsert && inserts.length > 0) {
      await this.context.afterInsert(
        inserts
          .filter((p) => p.row.emailVerified !== true && p.row.active !== false)
          .map((p) => ({ id: p.id, email: p.row.email })),
      );
    }

    return plan.map((p) => ({
      line: p.line,
      outcome: ({ insert: 'inserted', update: 'updated', skip: 'skipped' } as const)[p.action],
      userId: p.action === 'insert' ? p.id : p.existing.id,
    }));
  }
}

/** What each row does, given the users it matches. */
function planBatch(rows: BatchRow[], existing: User[], onConflict: ConflictMode): Planned[] {
  const byId = new Map(existing.map((u) => [u.id, u]));
  const byExternal = new Map(existing.filter((u) => u.externalId).map((u) => [u.externalId!, u]));
  const byEmail = new Map(existing.map((u) => [u.email.toLowerCase(), u]));
  const byUsername = new Map(
    existing.filter((u) => u.username).map((u) => [u.username!.toLowerCase(), u]),
  );
  const claimed = new Set<string>();
  const errors: { line: number; message: string }[] = [];
  const plan: Planned[] = [];
  for (const { line, row } of rows) {
    const matches = new Map<string, { user: User; by: string[] }>();
    const match = (user: User | undefined, by: string) => {
      if (!user) return;
      const m = matches.get(user.id) ?? { user, by: [] };
      m.by.push(by);
      matches.set(user.id, m);
    };
    match(row.id ? byId.get(row.id) : undefined, 'id');
    match(row.externalId ? byExternal.get(row.externalId) : undefined, 'externalId');
    match(byEmail.get(row.email), 'email');
    match(row.username ? byUsername.get(row.username) : undefined, 'username');

    if (matches.size === 0) {
      plan.push({ line, action: 'insert', row, id: row.id ?? randomUUID() });
      continue;
    }
    const [first] = matches.values();
    const described = [...matches.values()].map(
      (m) => `${m.by.join(' and ')} of user ${m.user.id}`,
    );
    if (onConflict === 'skip') {
      plan.push({ line, action: 'skip', existing: first.user });
      continue;
    }
    if (onConflict === 'fail') {
      errors.push({ line, message: `already exists: same ${described.join(', ')}` });
      continue;
    }
    if (matches.size > 1) {
      errors.push({ line, message: `matches more than one user: ${described.join('; ')}` });
      continue;
    }
    if (row.id && row.id !== first.user.id) {
      errors.push({ line, message: `id differs from the existing user's (${first.user.id})` });
      continue;
    }
    if (claimed.has(first.user.id)) {
      errors.push({ line, message: `another row of the batch updates user ${first.user.id}` });
      continue;
    }
    claimed.add(first.user.id);
    plan.push({ line, action: 'update', row, existing: first.user });
  }
  if (errors.length > 0) throw new BatchRefused(errors);
  return plan;
}

/** As an admin update: a new password, a deactivation or a role change ends the sessions. */
function revokesSessions(before: User, row: ImportRow): boolean {
  return (
    (row.passwordHash !== undefined && row.passwordHash !== before.passwordHash) ||
    (row.active === false && before.active) ||
    (row.role !== undefined && row.role !== before.role)
  );
}
