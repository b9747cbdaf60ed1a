import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuditEventType } from './audit-event-type.js';
import { jsonbText } from '../database/jsonb.js';

export interface NewAuditEvent {
  type: AuditEventType;
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  metadata: Record<string, unknown>;
}

export interface AuditEventRow {
  id: string;
  type: AuditEventType;
  user_id: string | null;
  actor_id: string | null;
  ip: string | null;
  user_agent: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
}

export interface AuditFilter {
  userId?: string;
  type?: AuditEventType;
}

/** The columns an insert sets, in the order of `auditEventValues`. */
export const AUDIT_EVENT_COLUMNS = 'type, user_id, actor_id, ip, user_agent, metadata';

/** The values of an event for `AUDIT_EVENT_COLUMNS` (metadata as JSON text, for `::jsonb`). */
export function auditEventValues(event: NewAuditEvent): unknown[] {
  return [
    event.type,
    event.userId,
    event.actorId,
    event.ip,
    event.userAgent,
    jsonbText(event.metadata),
  ];
}

/** SQL over `audit_events`. Every filter combination is served by one of its indexes. */
@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts in the caller's transaction when one is given. */
  async insert(event: NewAuditEvent, manager?: EntityManager): Promise<void> {
    await (manager ?? this.dataSource.manager).query(
      `INSERT INTO audit_events (${AUDIT_EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
      auditEventValues(event),
    );
  }

  /** Newest first; ties (one microsecond) broken by id so that pages never overlap. */
  list(filter: AuditFilter, limit: number, offset: number): Promise<AuditEventRow[]> {
    const where = whereClause(filter);
    const n = where.params.length;
    return this.dataSource.query(
      `SELECT id, type, user_id, actor_id, ip, user_agent, metadata, created_at
         FROM audit_events ${where.sql}
        ORDER BY created_at DESC, id DESC
        LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...where.params, limit, offset],
    );
  }

  /** Counts matching events exactly, but only up to `cap + 1`, so the cost is bounded. */
  async countUpTo(filter: AuditFilter, cap: number): Promise<number> {
    const where = whereClause(filter);
    const rows: { count: string }[] = await this.dataSource.query(
      `SELECT count(*) AS count
         FROM (SELECT 1 FROM audit_events ${where.sql} LIMIT $${where.params.length + 1}) matching`,
      [...where.params, cap + 1],
    );
    return Number(rows[0].count);
  }

  /** PostgreSQL's estimate of the matching events, from its statistics. */
  async estimateCount(filter: AuditFilter): Promise<number> {
    const where = whereClause(filter);
    const rows: { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[] =
      await this.dataSource.query(
        `EXPLAIN (FORMAT JSON) SELECT 1 FROM audit_events ${where.sql}`,
        where.params,
      );
    return Math.round(rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
  }
}

/** Only the conditions asked for, so the planner sees plain equalities it can index. */
function whereClause(filter: AuditFilter): { sql: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter.userId !== undefined) {
    params.push(filter.userId);
    conditions.push(`user_id = $${params.length}`);
  }
  if (filter.type !== undefined) {
    params.push(filter.type);
    conditions.push(`type = $${params.length}`);
  }
  return { sql: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', params };
}
