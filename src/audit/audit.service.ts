import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SigningKeys } from '../keys/signing-keys.js';
import type { ClientInfo } from '../common/http/client-info.js';
import type { AuditEventType } from './audit-event-type.js';
import {
  AuditRepository,
  type AuditEventRecord,
  type AuditFilter,
  type NewAuditEvent,
} from './audit.repository.js';
import { auditIdentifierKey, identifierHmac } from './identifier-hmac.js';

/** Above this many matches `total` is PostgreSQL's estimate (as for the user list). */
export const EXACT_AUDIT_COUNT_LIMIT = 10_000;

export interface AuditEventInput {
  type: AuditEventType;
  /** The account the event is about; null when there is none (an unknown email). */
  userId: string | null;
  /** Who did it: the user, an admin, or null (anonymous, the system). */
  actorId: string | null;
  client: ClientInfo;
  /** Type-specific details. Never a secret: keys that name one are dropped anyway. */
  metadata?: Record<string, unknown>;
}

export interface AuditPage {
  items: AuditEventRecord[];
  total: number;
}

/**
 * Keys whose values are secrets in this service (passwords, tokens, codes, hashes,
 * credentials). A second line of defence: callers never put such values in metadata.
 */
const SECRET_KEY = /password|secret|token|code|hash|authorization|cookie|credential/i;

/** The audit trail: who did what to which account, from where. */
@Injectable()
export class AuditService {
  private identifierKey: Buffer | undefined;

  constructor(
    private readonly repository: AuditRepository,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * How an event names the identifier a request tried (`kind:value`, as the rate-limit
   * and backoff keys): `{ identifier }` when it is an account's, else only
   * `{ identifierHmac }`, a keyed hash (see `identifier-hmac.ts`): whatever was typed into
   * an identifier field (a password, say) is never shown to admins.
   */
  identifierMetadata(
    identifier: { kind: string; value: string },
    matchesAccount: boolean,
  ): { identifier: string } | { identifierHmac: string } {
    if (matchesAccount) return { identifier: identifier.value };
    // Looked up on first use, not injected: the command-line tools record events with
    // AuditModule but no signing key (KeysModule would create one under DATA_DIR).
    this.identifierKey ??= auditIdentifierKey(
      this.moduleRef.get(SigningKeys, { strict: false }).privateKey,
    );
    return {
      identifierHmac: identifierHmac(this.identifierKey, `${identifier.kind}:${identifier.value}`),
    };
  }

  /**
   * Writes one event, in the transaction open in the caller's context (that of the change
   * it records, so that the event exists exactly when the change does), if any.
   */
  record(event: AuditEventInput): Promise<void> {
    return this.repository.insert(this.prepare(event));
  }

  /**
   * The event `record` writes, for the hot paths (login, refresh) that insert it within one
   * statement with the change it records (through `auditInsertSql`).
   */
  prepare(event: AuditEventInput): NewAuditEvent {
    return {
      type: event.type,
      userId: event.userId,
      actorId: event.actorId,
      ip: event.client.ip,
      userAgent: event.client.userAgent,
      metadata: { ...withoutSecrets(event.metadata ?? {}), requestId: event.client.requestId },
    };
  }

  async list(filter: AuditFilter, page: number, limit: number): Promise<AuditPage> {
    const [items, total] = await Promise.all([
      this.repository.list(filter, limit, (page - 1) * limit),
      this.total(filter),
    ]);
    return { items, total };
  }

  private async total(filter: AuditFilter): Promise<number> {
    const counted = await this.repository.countUpTo(filter, EXACT_AUDIT_COUNT_LIMIT);
    if (counted <= EXACT_AUDIT_COUNT_LIMIT) return counted;
    return Math.max(counted, await this.repository.estimateCount(filter));
  }
}

function withoutSecrets(metadata: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(metadata)
      .filter(([key, value]) => !SECRET_KEY.test(key) && value !== undefined)
      .map(([key, value]) => [key, isPlainObject(value) ? withoutSecrets(value) : value]),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
