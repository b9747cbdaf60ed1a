import { randomUUID } from 'node:crypto';
import { Brackets, QueryFailedError, type EntityManager } from 'typeorm';
import type { TransactionHost, TypeOrmTx } from '../database/transactions.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { Session } from '../sessions/entities/session.entity.js';
import { User } from './entities/user.entity.js';
import { NO_PASSWORD } from './legacy-hashes.js';
import {
  TIMESTAMP_TEXT,
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

/**
 * Built by hand with the caller's context (the CLI and the import route), on the app's
 * TransactionHost: a batch is one `withTransaction`, its statements use `txHost.tx`.
 */
export class UserImportRepository implements ImportWriter {
  constructor(
    private readonly txHost: TransactionHost<TypeOrmTx>,
    private readonly context: ImportContext,
  ) {}

  async writeBatch(rows: BatchRow[], settings: WriteSettings): Promise<BatchResult> {
    try {
      const outcomes = await this.txHost.withTransaction(async () => {
        const done = await this.write(this.txHost.tx, rows, settings);
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
    manager: EntityManager,
    rows: BatchRow[],
    settings: WriteSettings,
  ): Promise<{ line: number; outcome: RowOutcome; userId: string }[]> {
    const existing = await this.lockMatches(manager, rows);
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
      await manager
        .createQueryBuilder(User, 'u')
        .select('u.id')
        .where("u.role = 'ADMIN' AND u.active")
        .setLock('pessimistic_write')
        .getMany();
    }

    const inserts = plan.filter((p) => p.action === 'insert');
    if (inserts.length > 0) {
      await manager
        .createQueryBuilder()
        .insert()
        .into(User)
        .values(inserts.map((p) => insertValues(p.id, p.row)))
        .updateEntity(false)
        .callListeners(false)
        .execute();
    }
    for (const p of updates) {
      const changes = updateValues(p.row);
      await manager
        .createQueryBuilder()
        .update(User)
        .set({
          ...changes,
          updatedAt: p.row.updatedAt ? timestamp(p.row.updatedAt) : () => 'now()',
        })
        .where('id = :id', { id: p.existing.id })
        .callListeners(false)
        .updateEntity(false)
        .execute();
      if (revokesSessions(p.existing, p.row)) {
        await manager
          .createQueryBuilder()
          .update(Session)
          .set({ revokedAt: () => 'now()' })
          .where('userId = :id AND revokedAt IS NULL', { id: p.existing.id })
          .execute();
      }
    }
    if (demotions.length > 0) {
      const admins = await manager
        .createQueryBuilder(User, 'u')
        .where("u.role = 'ADMIN' AND u.active")
        .getCount();
      if (admins === 0) {
        throw new BatchRefused(
          demotions.map((p) => ({
            line: p.line,
            message: 'LAST_ADMIN: this change would leave no active admin',
          })),
        );
      }
    }

    const counts = { inserted: inserts.length, updated: updates.length };
    await new AuditRepository(this.txHost).insert({
      type: 'user.imported',
      userId: null,
      actorId: this.context.actorId,
      ip: this.context.ip,
      userAgent: this.context.userAgent,
      metadata: {
        source: this.context.source,
        ...counts,
        skipped: plan.length - counts.inserted - counts.updated,
        firstLine: rows[0]?.line,
        lastLine: rows.at(-1)?.line,
        ...(this.context.requestId ? { requestId: this.context.requestId } : {}),
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

  /** The existing users any row of the batch matches, locked until the batch ends. */
  private lockMatches(manager: EntityManager, rows: BatchRow[]): Promise<User[]> {
    const values = (pick: (row: ImportRow) => string | null | undefined) =>
      rows.map(({ row }) => pick(row)).filter((v): v is string => typeof v === 'string');
    const ids = values((r) => r.id);
    const externalIds = values((r) => r.externalId);
    const usernames = values((r) => r.username);
    return manager
      .createQueryBuilder(User, 'u')
      .where('lower(u.email) = ANY(CAST(:emails AS text[]))', { emails: values((r) => r.email) })
      .orWhere(
        new Brackets((q) => {
          q.where('u.id = ANY(CAST(:ids AS uuid[]))', { ids })
            .orWhere('u.externalId = ANY(CAST(:externalIds AS text[]))', { externalIds })
            .orWhere('lower(u.username) = ANY(CAST(:usernames AS text[]))', { usernames });
        }),
      )
      .setLock('pessimistic_write')
      .getMany();
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

function insertValues(id: string, row: ImportRow) {
  return {
    id,
    externalId: row.externalId ?? null,
    email: row.email,
    username: row.username ?? null,
    passwordHash: row.passwordHash ?? NO_PASSWORD,
    firstName: row.firstName ?? null,
    lastName: row.lastName ?? null,
    role: row.role ?? 'USER',
    active: row.active ?? true,
    emailVerified: row.emailVerified ?? false,
    // Left out, the columns' DEFAULT now() applies.
    ...(row.createdAt ? { createdAt: timestamp(row.createdAt) } : {}),
    ...((row.updatedAt ?? row.createdAt)
      ? { updatedAt: timestamp(row.updatedAt ?? row.createdAt!) }
      : {}),
    lastLoginAt: row.lastLoginAt ? timestamp(row.lastLoginAt) : null,
  };
}

/**
 * A checked timestamp (`TIMESTAMP_TEXT`: digits, `-`, `:`, `.`, `T`, `Z` only) as a
 * literal, so that PostgreSQL reads its microseconds (TypeORM would make it a Date first).
 */
function timestamp(text: string): () => string {
  if (!TIMESTAMP_TEXT.test(text)) throw new Error(`not a checked timestamp: ${text}`);
  return () => `'${text}'::timestamptz`;
}

/** The fields the row carries (an update leaves the others as they are). */
function updateValues(row: ImportRow): Partial<User> {
  const changes: Partial<User> = { email: row.email };
  const keys = [
    'externalId',
    'username',
    'firstName',
    'lastName',
    'role',
    'active',
    'emailVerified',
    'createdAt',
    'lastLoginAt',
    'passwordHash',
  ] as const;
  for (const key of keys) {
    const value = row[key];
    if (value === undefined) continue;
    (changes as Record<string, unknown>)[key] =
      (key === 'createdAt' || key === 'lastLoginAt') && typeof value === 'string'
        ? timestamp(value)
        : value;
  }
  return changes;
}

/** As an admin update: a new password, a deactivation or a role change ends the sessions. */
function revokesSessions(before: User, row: ImportRow): boolean {
  return (
    (row.passwordHash !== undefined && row.passwordHash !== before.passwordHash) ||
    (row.active === false && before.active) ||
    (row.role !== undefined && row.role !== before.role)
  );
}

/** One exported user: the import's fields, timestamps with their microseconds. */
export interface ExportedUser {
  id: string;
  externalId: string | null;
  email: string;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  role: string;
  active: boolean;
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
  passwordHash?: string;
}

/** UTC ISO 8601 with microseconds, as `TIMESTAMP_TEXT` reads it back. */
const ISO_MICROS = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** `export-users`: every user in id order, a page at a time (keyset, never OFFSET). */
export class UserExportRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  async page(afterId: string | undefined, limit: number, withHashes: boolean) {
    const query = this.txHost.tx
      .createQueryBuilder(User, 'u')
      .select('u.id', 'id')
      .addSelect('u.externalId', 'externalId')
      .addSelect('u.email', 'email')
      .addSelect('u.username', 'username')
      .addSelect('u.firstName', 'firstName')
      .addSelect('u.lastName', 'lastName')
      .addSelect('u.role', 'role')
      .addSelect('u.active', 'active')
      .addSelect('u.emailVerified', 'emailVerified')
      .addSelect(ISO_MICROS('u.created_at'), 'createdAt')
      .addSelect(ISO_MICROS('u.updated_at'), 'updatedAt')
      .addSelect(ISO_MICROS('u.last_login_at'), 'lastLoginAt')
      .orderBy('u.id', 'ASC')
      .limit(limit);
    if (withHashes) query.addSelect('u.passwordHash', 'passwordHash');
    if (afterId) query.where('u.id > :afterId', { afterId });
    return query.getRawMany<ExportedUser>();
  }
}
