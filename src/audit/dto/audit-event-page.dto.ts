import { AuditEventDto } from './audit-event.dto.js';

/** One page of audit events, newest first. */
export class AuditEventPageDto {
  items: AuditEventDto[];

  /**
   * How many events match. Exact up to 10,000; beyond that, PostgreSQL's estimate from its
   * table statistics (never below 10,001), because counting millions of events costs more
   * than the page itself.
   * @example 1
   */
  total: number;

  /** @example 1 */
  page: number;

  /** @example 20 */
  limit: number;

  static of(items: AuditEventDto[], total: number, page: number, limit: number): AuditEventPageDto {
    return Object.assign(new AuditEventPageDto(), { items, total, page, limit });
  }
}
