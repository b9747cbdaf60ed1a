import { ApiProperty } from '@nestjs/swagger';
import type { SessionRecord } from '../../sessions/sessions.repository.js';

/** A live session of the caller. */
export class SessionDto {
  @ApiProperty({ format: 'uuid', example: '7d3f1c2a-5b6e-4f70-8a91-0b2c3d4e5f60' })
  id: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-15T09:30:00.000Z' })
  createdAt: string;

  /** Last login or refresh. */
  @ApiProperty({ format: 'date-time', example: '2026-01-16T08:05:12.000Z' })
  lastUsedAt: string;

  /** When it ends unless refreshed (never after its absolute maximum age). */
  @ApiProperty({ format: 'date-time', example: '2026-01-23T08:05:12.000Z' })
  expiresAt: string;

  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 ...' })
  userAgent: string | null;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  ip: string | null;

  /** True for the session of the access token making this request. @example true */
  current: boolean;

  static from(session: SessionRecord, currentSessionId: string): SessionDto {
    const dto = new SessionDto();
    dto.id = session.id;
    dto.createdAt = session.createdAt.toISOString();
    dto.lastUsedAt = session.lastUsedAt.toISOString();
    dto.expiresAt = session.expiresAt.toISOString();
    dto.userAgent = session.userAgent;
    dto.ip = session.ip;
    dto.current = session.id === currentSessionId;
    return dto;
  }
}
