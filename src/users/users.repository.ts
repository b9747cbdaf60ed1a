import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { Brackets, QueryFailedError, type SelectQueryBuilder } from 'typeorm';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { TypeOrmTx } from '../database/transactions.js';
import { User } from './entities/user.entity.js';
import type { Role } from '../common/auth/role.js';
import { normalizeEmail, normalizeUsername } from '../common/identifiers.js';
import {
  insertValues,
  ISO_MICROS,
  timestamp,
  updateValues,
  type ExportedUser,
} from './imported-user-values.js';
import type { ImportRow } from './user-import.js';
import { toUser, type UserRow } from './user-row.js';
import {
  orderByClause,
  whereClause,
  type UserFilter,
  type UserListQuery,
} from './user-list-sql.js';

/** Fields an update may set. */
export type UserChanges = Partial<
  Pick<
    User,
    | 'email'
    | 'username'
    | 'firstName'
    | 'lastName'
    | 'role'
    | 'active'
    | 'emailVerified'
    | 'passwordHash'
  >
>;

export interface NewUser {
  email: string;
  username: string | null;
  passwordHash: string;
  firstName: string | null;
  lastName: string | null;
  role?: Role;
  active?: boolean;
  emailVerified?: boolean;
}

/**
 * One batch of `npm run seed:users`, rows `$1..$2`. Hand-written: generated in the database
 * (generate_series) rather than sent row by row, as a seed of a million rows needs. The run tag keeps emails and usernames unique across runs;
 * names cycle through the lists above so searches have realistic hit rates; about 2% of
 * users are inactive, 20% unverified, a quarter have no username and a third never logged in.
 */
const SEED_BATCH = `
  INSERT INTO users (email, username, password_hash, first_name, last_name, role, active,
                     email_verified, created_at, updated_at, last_login_at)
  SELECT lower(replace(f || '.' || l, ' ', '')) || '.' || $3 || i || '@example.com',
         CASE WHEN i % 4 = 0 THEN NULL ELSE lower(f) || '_' || $3 || i END,
         $4, f, l, 'USER', i % 50 <> 0, i % 5 <> 0, created, created,
         CASE WHEN i % 3 = 0 THEN NULL ELSE created + random() * (now() - created) END
    FROM (SELECT i,
                 ($5::text[])[1 + i % cardinality($5::text[])] AS f,
                 ($6::text[])[1 + (i / 7) % cardinality($6::text[])] AS l,
                 now() - random() * interval '1095 days' AS created
            FROM generate_series($1::bigint, $2::bigint) AS i) AS generated
  ON CONFLICT DO NOTHING`;

/**
 * `users`: the only writer of the table, but for the fragments of the hot-path statements
 * in `user-row.ts`. Emails and usernames are normalized here (the same normalizer as the
 * DTOs and the rate-limit keys); unique violations become `EMAIL_TAKEN` / `USERNAME_TAKEN`.
 * Every method runs in the transaction open in the caller's context, if any.
 */
@Injectable()
export class UsersRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  /** The open transaction's manager, or the data source's outside one. */
  private get db() {
    return this.txHost.tx;
  }

  private users(): SelectQueryBuilder<User> {
    return this.db.getRepository(User).createQueryBuilder('u');
  }

  async findById(id: string): Promise<User | undefined> {
    return (await this.users().where('u.id = :id', { id }).getOne()) ?? undefined;
  }

  /** Looks a user up by normalized email or username (the unique indexes on lower(...) serve both). */
  async findByLogin(by: 'email' | 'username', value: string): Promise<User | undefined> {
    const key = by === 'email' ? normalizeEmail(value) : normalizeUsername(value);
    const column = by === 'email' ? 'u.email' : 'u.username';
    return (await this.users().where(`lower(${column}) = :key`, { key }).getOne()) ?? undefined;
  }

  /** The active account with this email, if any (recovery). */
  async findActiveByEmail(email: string): Promise<User | undefined> {
    const user = await this.users()
      .where('lower(u.email) = :key AND u.active', { key: normalizeEmail(email) })
      .getOne();
    return user ?? undefined;
  }

  async insert(user: NewUser): Promise<User> {
    try {
      const result = await this.db
        .createQueryBuilder()
        .insert()
        .into(User)
        .values({
          email: normalizeEmail(user.email),
          username: user.username === null ? null : normalizeUsername(user.username),
          passwordHash: user.passwordHash,
          firstName: user.firstName,
          lastName: user.lastName,
          role: user.role ?? 'USER',
          active: user.active ?? true,
          emailVerified: user.emailVerified ?? false,
        })
        .returning('*')
        .execute();
      return toUser((result.raw as UserRow[])[0]);
    } catch (error) {
      throw translateUniqueViolation(error);
    }
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.update(id, { passwordHash });
  }

  /** Whether the user has a confirmed second factor (kept by MfaModule with its tables). */
  async setMfaEnabled(id: string, enabled: boolean): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(User)
      .set({ mfaEnabled: enabled, updatedAt: () => 'now()' })
      .where('id = :id', { id })
      .execute();
  }

  /**
   * A password reset: the new password, and the email marked verified (the reset proved
   * that the user reads this mailbox). Answers the address, for the "password changed" email.
   */
  async setPasswordAndVerifyEmail(id: string, passwordHash: string): Promise<string | undefined> {
    return (await this.update(id, { passwordHash, emailVerified: true }))?.email;
  }

  /** A verification link was used: the account's email is verified. */
  async markEmailVerified(id: string): Promise<User | undefined> {
    return this.update(id, { emailVerified: true });
  }

  /** Reads the user and locks the row until the transaction ends. */
  async lockById(id: string): Promise<User | undefined> {
    const user = await this.users()
      .where('u.id = :id', { id })
      .setLock('pessimistic_write')
      .getOne();
    return user ?? undefined;
  }

  /**
   * Locks every active admin, in id order so that concurrent callers queue up instead of
   * deadlocking, and answers their ids. A transaction that holds these locks sees the
   * committed outcome of any concurrent demotion (READ COMMITTED re-checks a locked row
   * against the WHERE clause), so counting them is race-free.
   */
  async lockActiveAdminIds(): Promise<string[]> {
    const admins = await this.users()
      .select('u.id')
      .where(`u.role = 'ADMIN' AND u.active`)
      .orderBy('u.id')
      .setLock('pessimistic_write')
      .getMany();
    return admins.map((admin) => admin.id);
  }

  async hasActiveAdmin(): Promise<boolean> {
    return this.users().where(`u.role = 'ADMIN' AND u.active`).limit(1).getExists();
  }

  /**
   * Takes the transaction-level advisory lock `key` (released at commit): serializes work
   * such as admin provisioning across instances on one PostgreSQL. On the embedded PGlite
   * (one backend) there is only one instance anyway.
   */
  async lockForProvisioning(key: number): Promise<void> {
    await this.db
      .createQueryBuilder()
      .select('pg_advisory_xact_lock(:key)')
      .fromDummy()
      .setParameter('key', key)
      .getRawOne();
  }

  /** Sets the given fields (and `updated_at`); `undefined` when there is no such user. */
  async update(id: string, changes: UserChanges): Promise<User | undefined> {
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      values[key] =
        key === 'email' && typeof value === 'string'
          ? normalizeEmail(value)
          : key === 'username' && typeof value === 'string'
            ? normalizeUsername(value)
            : value;
    }
    try {
      const result = await this.db
        .createQueryBuilder()
        .update(User)
        .set({ ...values, updatedAt: () => 'now()' })
        .where('id = :id', { id })
        .returning('*')
        .execute();
      const rows = result.raw as UserRow[];
      return rows[0] ? toUser(rows[0]) : undefined;
    } catch (error) {
      throw translateUniqueViolation(error);
    }
  }

  /** Deletes the user; sessions and refresh tokens go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<boolean> {
    const result = await this.db
      .createQueryBuilder()
      .delete()
      .from(User)
      .where('id = :id', { id })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** Inserts seeded users `first..last` (see SEED_BATCH); existing ones are skipped. */
  async seedBatch(batch: {
    first: number;
    last: number;
    tag: string;
    passwordHash: string;
    firstNames: readonly string[];
    lastNames: readonly string[];
  }): Promise<void> {
    await this.db.query(SEED_BATCH, [
      batch.first,
      batch.last,
      batch.tag,
      batch.passwordHash,
      batch.firstNames,
      batch.lastNames,
    ]);
  }

  /**
   * `import-users`: the existing users any of `rows` matches (by id, externalId, email or
   * username), locked until the batch's transaction ends.
   */
  lockImportMatches(rows: ImportRow[]): Promise<User[]> {
    const values = (pick: (row: ImportRow) => string | null | undefined) =>
      rows.map(pick).filter((v): v is string => typeof v === 'string');
    return this.users()
      .where('lower(u.email) = ANY(CAST(:emails AS text[]))', { emails: values((r) => r.email) })
      .orWhere(
        new Brackets((q) => {
          q.where('u.id = ANY(CAST(:ids AS uuid[]))', { ids: values((r) => r.id) })
            .orWhere('u.externalId = ANY(CAST(:externalIds AS text[]))', {
              externalIds: values((r) => r.externalId),
            })
            .orWhere('lower(u.username) = ANY(CAST(:usernames AS text[]))', {
              usernames: values((r) => r.username),
            });
        }),
      )
      .setLock('pessimistic_write')
      .getMany();
  }

  /** `import-users`: new users, in one statement, with the timestamps the rows carry. */
  async insertImported(users: { id: string; row: ImportRow }[]): Promise<void> {
    await this.db
      .createQueryBuilder()
      .insert()
      .into(User)
      .values(users.map(({ id, row }) => insertValues(id, row)))
      .updateEntity(false)
      .callListeners(false)
      .execute();
  }

  /** `import-users --on-conflict update`: the fields the row carries, the others kept. */
  async updateImported(id: string, row: ImportRow): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(User)
      .set({
        ...updateValues(row),
        updatedAt: row.updatedAt ? timestamp(row.updatedAt) : () => 'now()',
      })
      .where('id = :id', { id })
      .callListeners(false)
      .updateEntity(false)
      .execute();
  }

  /** `export-users`: a page of users in id order after `afterId` (keyset, never OFFSET). */
  exportPage(afterId: string | undefined, limit: number, withHashes: boolean) {
    const query = this.db
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

  /** Updates the planner's statistics after a bulk change (ANALYZE users). */
  async analyze(): Promise<void> {
    await this.db.query('ANALYZE users');
  }

  /** One page of users; `whereClause` and `orderByClause` keep each on an index. */
  list(query: UserListQuery): Promise<User[]> {
    const where = whereClause(query);
    const select = this.users().where(where.sql, where.params);
    for (const term of orderByClause(query.sort, query.order)) {
      select.addOrderBy(term.expression, term.order, term.nulls);
    }
    return select.limit(query.limit).offset(query.offset).getMany();
  }

  /**
   * The number of matching users, counted exactly but only up to `cap + 1`, so the cost
   * is bounded however many rows match.
   */
  async countUpTo(filter: UserFilter, cap: number): Promise<number> {
    const where = whereClause(filter);
    const matching = this.users()
      .select('1')
      .where(where.sql)
      .limit(cap + 1);
    const row = await this.db
      .createQueryBuilder()
      .select('count(*)', 'count')
      .from(`(${matching.getQuery()})`, 'matching')
      .setParameters(where.params)
      .getRawOne<{ count: string }>();
    return Number(row?.count ?? 0);
  }

  /** PostgreSQL's own estimate of the matching rows (from table statistics), at no cost. */
  async estimateCount(filter: UserFilter): Promise<number> {
    const where = whereClause(filter);
    const [sql, params] = this.users()
      .select('1')
      .where(where.sql, where.params)
      .getQueryAndParameters();
    // EXPLAIN is not a query TypeORM builds; the statement it explains is.
    const rows: { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[] = await this.db.query(
      `EXPLAIN (FORMAT JSON) ${sql}`,
      params,
    );
    return Math.round(rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
  }
}

/** Maps a unique-index violation to the contract's 409 codes; anything else is rethrown. */
export function translateUniqueViolation(error: unknown): unknown {
  if (error instanceof QueryFailedError) {
    const driverError = error.driverError as { code?: string; constraint?: string };
    if (driverError.code === '23505') {
      if (driverError.constraint === 'users_email_key') return new AppError(ErrorCode.EMAIL_TAKEN);
      if (driverError.constraint === 'users_username_key')
        return new AppError(ErrorCode.USERNAME_TAKEN);
    }
  }
  return error;
}
