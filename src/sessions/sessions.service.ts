import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import type { ClientInfo } from '../common/http/client-info.js';
import { AppConfig } from '../config/app-config.js';
import type { User } from '../users/entities/user.entity.js';
import { Transactional } from '../database/transactions.js';
import {
  hashRefreshToken,
  newRefreshToken,
  openSuccessor,
  sealSuccessor,
} from './refresh-token-crypto.js';
import {
  SessionsRepository,
  type SessionRecord,
  type SuccessfulLogin,
} from './sessions.repository.js';

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
  /** When the session ends unless refreshed before (the refresh cookie's lifetime). */
  expiresAt: Date;
  /** How the session was authenticated (RFC 8176 `amr`), for the access token. */
  amr: string[];
}

export interface RotatedSession extends IssuedSession {
  user: User;
}

/** A new session's id and first refresh token, chosen before it is written. */
export function newSession(): {
  sessionId: string;
  refreshToken: string;
  refreshTokenHash: Buffer;
} {
  const refreshToken = newRefreshToken();
  return {
    sessionId: randomUUID(),
    refreshToken,
    refreshTokenHash: hashRefreshToken(refreshToken),
  };
}

/**
 * Sessions and their rotating refresh tokens (API.md, "Sessions and cookies"): rotation on
 * every refresh, the same successor inside the reuse grace window, and revocation of the
 * whole session when a rotated token comes back after it.
 */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * Trades a refresh token for its successor. Throws `INVALID_REFRESH_TOKEN` otherwise.
   * `session.refreshed` and `session.reuse_detected` are written with the change.
   *
   * The common case, the current token of a live session, is one statement
   * (`rotateCurrent`); any other token (unknown, within or past the reuse grace window, of
   * a dead session) then goes through `rotateInTransaction`, which tells them apart.
   */
  async rotate(refreshToken: string, client: ClientInfo): Promise<RotatedSession> {
    const tokenHash = hashRefreshToken(refreshToken);
    const successor = newRefreshToken();
    const rotated = await this.sessions.rotateCurrent({
      tokenHash,
      successorHash: hashRefreshToken(successor),
      successorSealed: sealSuccessor(successor, refreshToken),
      idleTtlMs: this.config.session.refreshTokenTtlMs,
      // user_id, actor_id and metadata.sessionId come from the token's session.
      audit: this.audit.prepare({
        type: 'session.refreshed',
        userId: null,
        actorId: null,
        client,
      }),
    });
    if (rotated) {
      return {
        sessionId: rotated.sessionId,
        user: rotated.user,
        refreshToken: successor,
        expiresAt: rotated.sessionExpiresAt,
        amr: rotated.sessionAmr,
      };
    }
    return this.rotateInTransaction(refreshToken, tokenHash, client);
  }

  private async rotateInTransaction(
    refreshToken: string,
    tokenHash: Buffer,
    client: ClientInfo,
  ): Promise<RotatedSession> {
    const outcome = await this.rotateLocked(refreshToken, tokenHash, client);
    switch (outcome.kind) {
      case 'issued':
        return outcome;
      case 'reused':
        this.logger.warn(
          {
            sessionId: outcome.sessionId,
            userId: outcome.user.id,
            requestId: client.requestId,
            event: 'session.reuse_detected',
          },
          'A rotated refresh token was presented after the grace window; the session is revoked',
        );
        throw new AppError(ErrorCode.INVALID_REFRESH_TOKEN);
      case 'invalid':
        throw new AppError(ErrorCode.INVALID_REFRESH_TOKEN);
    }
  }

  /** Answers instead of throwing: a revocation for reuse must commit, not roll back. */
  @Transactional()
  private async rotateLocked(refreshToken: string, tokenHash: Buffer, client: ClientInfo) {
    const { refreshTokenTtlMs, reuseGraceMs } = this.config.session;
    const token = await this.sessions.lockRefreshToken(tokenHash, reuseGraceMs);
    if (!token || !token.sessionLive) return { kind: 'invalid' as const };
    const issued = {
      sessionId: token.sessionId,
      user: token.user,
      expiresAt: token.sessionExpiresAt,
      amr: token.sessionAmr,
    };
    const event = (type: 'session.refreshed' | 'session.reuse_detected', grace?: boolean) =>
      this.audit.record({
        type,
        userId: token.user.id,
        // A reused token may be in anyone's hands: nobody is known to have done it.
        actorId: type === 'session.refreshed' ? token.user.id : null,
        client,
        metadata: { sessionId: token.sessionId, grace },
      });
    if (token.isCurrent) {
      // Current again only if the session or its user changed since the first try.
      const successor = newRefreshToken();
      const rotated = await this.sessions.rotateCurrent({
        tokenHash,
        successorHash: hashRefreshToken(successor),
        successorSealed: sealSuccessor(successor, refreshToken),
        idleTtlMs: refreshTokenTtlMs,
        audit: this.audit.prepare({
          type: 'session.refreshed',
          userId: null,
          actorId: null,
          client,
        }),
      });
      if (!rotated) return { kind: 'invalid' as const };
      return {
        kind: 'issued' as const,
        ...issued,
        refreshToken: successor,
        expiresAt: rotated.sessionExpiresAt,
      };
    }
    const successor =
      token.inGrace && token.successorSealed
        ? openSuccessor(token.successorSealed, refreshToken)
        : undefined;
    if (successor) {
      // The same successor again (concurrent tabs within REFRESH_REUSE_GRACE).
      await event('session.refreshed', true);
      return { kind: 'issued' as const, ...issued, refreshToken: successor };
    }
    await this.sessions.revoke(token.sessionId);
    await event('session.reuse_detected');
    return { kind: 'reused' as const, ...issued };
  }

  /** The live session a refresh token belongs to, for logout without an access token. */
  findByRefreshToken(
    refreshToken: string,
  ): Promise<{ sessionId: string; userId: string } | undefined> {
    return this.sessions.findSessionByRefreshToken(
      hashRefreshToken(refreshToken),
      this.config.session.reuseGraceMs,
    );
  }

  /** A successful login's writes, in one statement (SessionsRepository.recordLogin). */
  recordLogin(login: SuccessfulLogin): Promise<{ user: User; expiresAt: Date } | undefined> {
    return this.sessions.recordLogin(login);
  }

  /** Step-up: the session's last authentication is now. */
  markAuthenticated(sessionId: string): Promise<boolean> {
    return this.sessions.markAuthenticated(sessionId);
  }

  /** In the transaction open in the caller's context, if any. */
  revoke(sessionId: string): Promise<boolean> {
    return this.sessions.revoke(sessionId);
  }

  /** In the transaction open in the caller's context, if any. */
  revokeAllOfUser(userId: string, exceptSessionId?: string): Promise<number> {
    return this.sessions.revokeAllOfUser(userId, exceptSessionId);
  }

  async revokeOwned(userId: string, sessionId: string): Promise<void> {
    if (!(await this.sessions.revokeOwned(userId, sessionId))) {
      throw new AppError(ErrorCode.NOT_FOUND, 'No such session.');
    }
  }

  list(userId: string): Promise<SessionRecord[]> {
    return this.sessions.listLive(userId);
  }
}
