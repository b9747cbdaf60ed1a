import { ApiProperty } from '@nestjs/swagger';
import { AUDIT_EVENT_TYPES, type AuditEventType } from '../audit-event-type.js';
import type { AuditEventRecord } from '../audit.repository.js';

/** One audit event. It never holds a password, token, code or Authorization header. */
export class AuditEventDto {
  /** @example "7d7c1f0e-2b1a-4a57-9d0f-0c1b7f3e9a11" */
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: AUDIT_EVENT_TYPES, example: 'user.login' })
  type: AuditEventType;

  /**
   * The account the event is about; null when there is none (a failed login or a reset
   * request for an unknown email, a rate limit). Kept after the account is deleted.
   */
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    example: '2f0c7a3e-8c2e-4d55-9a3b-1f1f7e0c9b21',
  })
  userId: string | null;

  /**
   * Who did it: the user themselves, the admin for admin actions, null when anonymous (a
   * failed login, a refresh token presented after its rotation, a rate limit).
   */
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    example: '2f0c7a3e-8c2e-4d55-9a3b-1f1f7e0c9b21',
  })
  actorId: string | null;

  /** The client IP (the forwarded one when `TRUST_PROXY` believes it). @example "203.0.113.7" */
  @ApiProperty({ nullable: true, type: String })
  ip: string | null;

  /** @example "Mozilla/5.0 (X11; Linux x86_64)" */
  @ApiProperty({ nullable: true, type: String })
  userAgent: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-12-01T14:02:03.000Z' })
  createdAt: string;

  /**
   * Details by type, always with `requestId` (the request's `X-Request-Id`; null for work
   * done outside a request, such as the admin bootstrap, which sets `via`):
   * `user.login` / `user.logout` / `session.*`: `sessionId` (logout: `scope`, `revokedSessions`);
   * `user.login_failed`: `reason` (`invalid_credentials`, `account_disabled`,
   * `email_not_verified`, `locked`, `rate_limited`) and `identifier` (the email or username
   * tried); for a wrong password also `failures` (consecutive, this one included) and
   * `lockedForSeconds` when it locked the identifier; for `locked`, `retryAfterSeconds`;
   * `email.verified`: `via` (`link` or `password_reset`); `user.created`: `email`, `role`,
   * `active`;
   * `user.updated`: `fields` (names of the changed fields) and `changes` (`from`/`to` of
   * non-secret fields); `user.deleted`: `email`; `password.reset_requested`: `email`;
   * `rate_limit.exceeded`: `route`, `scope` (`ip` or `account`), `limit`,
   * `windowSeconds`, `retryAfterSeconds` and `identifier` when the body named an account.
   */
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { sessionId: '5b8a7d2e-0f1c-4e3b-9a6d-2c4e8f0a1b3c', requestId: 'b6c1e7a2-...' },
  })
  metadata: Record<string, unknown>;

  static from(event: AuditEventRecord): AuditEventDto {
    return Object.assign(new AuditEventDto(), {
      id: event.id,
      type: event.type,
      userId: event.userId,
      actorId: event.actorId,
      ip: event.ip,
      userAgent: event.userAgent,
      createdAt: event.createdAt.toISOString(),
      metadata: event.metadata,
    });
  }
}
