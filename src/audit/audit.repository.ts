import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { deleteBatch } from '../database/batch-delete.js';
import { jsonbText } from '../database/jsonb.js';
import type { TypeOrmTx } from '../database/transactions.js';
import type { AuditEventType } from './audit-event-type.js';
import { AuditEvent } from './entities/audit-event.entity.js';

/** An event about to be written (what AuditService.event() makes of a request's input). */
export interface NewAuditEvent {
  type: AuditEventType;
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  metadata: Record<string, unknown>;
}

/** An event as stored: `AuditEvent`, the entity, is the record. */
export type AuditEventRecord = AuditEvent;

export interface AuditFilter {
  userId?: string;
  type?: AuditEventType;
}

/**
 * The one INSERT into `audit_events`, as a fragment for the hot-path statements (login,
 * refresh) that write an event in the same statement as the change it records:
 * `INSERT INTO audit_events (...) SELECT <values>` where `values` lists the six
 * expressions in the order of `AUDIT_INSERT_COLUMNS`. Only this module writes the table.
 */
const AUDIT_INSERT_COLUMNS = 'type, user_id, actor_id, ip, user_agent, metadata';
export function auditInsertSql(values: string): string {
  return `INSERT INTO audit_events (${AUDIT_INSERT_COLUMNS}) SELECT ${values}`;
}

/** The parameters of an event for `auditInsertSql` (metadata as JSON text: cast with `::jsonb`). */
export function auditInsertParams(event: NewAuditEvent): unknown[] {
  return [
    event.type,
    event.userId,
    event.actorId,
    event.ip,
    event.userAgent,
    jsonbText(event.metadata),
  ];
}

/** `audit_events`. Every filter combination is served by one of its indexes. */
@Injectable()
export class AuditRepository {
  constructor(private readonly txHost: TransactionHost<TypeOrmTx>) {}

  /** The open transaction's manager, or the data source's outside one. */
  private get db() {
    return this.txHost.tx;
  }

  /** In the transaction that is open, if any: the event exists exactly when the change does. */
  async insert(event: NewAuditEvent): Promise<void> {
    await this.db
      .createQueryBuilder()
      .insert()
      .into(AuditEvent)
      // metadata is any JSON object; TypeORM's deep-partial type cannot say so.
      .values(event as QueryDeepPartialEntity<AuditEvent>)
      .execute();
  }

  /** Newest first; ties (one microsecond) broken by id so that pages never overlap. */
  list(filter: AuditFilter, limit: number, offset: number): Promise<AuditEventRecord[]> {
    return this.filtered(filter)
      .orderBy('e.createdAt', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .limit(limit)
      .offset(offset)
      .getMany();
  }

  /** Counts matching events exactly, but only up to `cap + 1`, so the cost is bounded. */
  async countUpTo(filter: AuditFilter, cap: number): Promise<number> {
    const matching = this.filtered(filter)
      .select('1')
      .limit(cap + 1);
    const row = await this.db
      .createQueryBuilder()
      .select('count(*)', 'count')
      .from(`(${matching.getQuery()})`, 'matching')
      .setParameters(matching.getParameters())
      .getRawOne<{ count: string }>();
    return Number(row?.count ?? 0);
  }

  /** PostgreSQL's estimate of the matching events, from its statistics. */
  async estimateCount(filter: AuditFilter): Promise<number> {
    const [sql, params] = this.filtered(filter).select('1').getQueryAndParameters();
    // EXPLAIN is not a query TypeORM builds; the statement it explains is.
    const rows: { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[] = await this.db.query(
      `EXPLAIN (FORMAT JSON) ${sql}`,
      params,
    );
    return Math.round(rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
  }

  /** Events older than `olderThanMs` (AUDIT_RETENTION), for the retention cleanup. */
  deleteOlderBatch(olderThanMs: number, batch: number): Promise<number> {
    return deleteBatch(
      this.db,
      AuditEvent,
      'id',
      `r.createdAt < now() - :olderThanMs::float8 * interval '1 millisecond'`,
      { olderThanMs },
      batch,
    );
  }

  /** Only the conditions asked for, so the planner sees plain equalities it can index. */
  private filtered(filter: AuditFilter): SelectQueryBuilder<AuditEvent> {
    const query = this.db.getRepository(AuditEvent).createQueryBuilder('e');
    if (filter.userId !== undefined) query.andWhere('e.userId = :userId', filter);
    if (filter.type !== undefined) query.andWhere('e.type = :type', filter);
    return query;
  }
}
