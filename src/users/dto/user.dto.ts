import { ROLES, type Role } from '../../common/auth/role.js';
import { ApiProperty } from '@nestjs/swagger';
import type { User } from '../entities/user.entity.js';

/** A user account as every response shows it: never a hash, token or counter. */
export class UserDto {
  /** @example "2f0c7a3e-8c2e-4d55-9a3b-1f1f7e0c9b21" */
  @ApiProperty({ format: 'uuid' })
  id: string;

  /** Trimmed and lower-cased. @example "ada@example.com" */
  @ApiProperty({ format: 'email' })
  email: string;

  /** @example "ada" */
  username: string | null;

  /** @example "Ada" */
  firstName: string | null;

  /** @example "Lovelace" */
  lastName: string | null;

  @ApiProperty({ enum: ROLES, example: 'USER' })
  role: Role;

  /** @example true */
  active: boolean;

  /** @example false */
  emailVerified: boolean;

  @ApiProperty({ format: 'date-time', example: '2026-01-15T09:30:00.000Z' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-15T09:30:00.000Z' })
  updatedAt: string;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    example: '2026-01-16T08:05:12.000Z',
  })
  lastLoginAt: string | null;

  /**
   * The id the user had in the backend they were imported from (a MongoDB ObjectId, a
   * MySQL integer...); null for users created here or imported with a UUID id.
   * @example "507f1f77bcf86cd799439011"
   */
  @ApiProperty({ type: String, nullable: true, example: '507f1f77bcf86cd799439011' })
  externalId: string | null;

  /** Whether the user has a second factor (two-step sign-in). @example false */
  mfaEnabled: boolean;

  static from(user: User): UserDto {
    const dto = new UserDto();
    dto.id = user.id;
    dto.email = user.email;
    dto.username = user.username;
    dto.firstName = user.firstName;
    dto.lastName = user.lastName;
    dto.role = user.role;
    dto.active = user.active;
    dto.emailVerified = user.emailVerified;
    dto.createdAt = user.createdAt.toISOString();
    dto.updatedAt = user.updatedAt.toISOString();
    dto.lastLoginAt = user.lastLoginAt?.toISOString() ?? null;
    dto.externalId = user.externalId;
    dto.mfaEnabled = user.mfaEnabled;
    return dto;
  }
}
