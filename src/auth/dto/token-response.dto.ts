import { ApiProperty } from '@nestjs/swagger';
import { UserDto } from '../../users/dto/user.dto.js';

/** OAuth 2.0 token response (RFC 6749 §5.1), plus the user. */
export class TokenResponseDto {
  /** ES256 JWT (`typ: at+jwt`). @example "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9..." */
  access_token: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  token_type: 'Bearer';

  /** Seconds until the access token expires. @example 900 */
  expires_in: number;

  /**
   * Opaque, single-use: every refresh returns a new one. Absent in cookie transport, where
   * it travels only in the HttpOnly `refresh_token` cookie. @example "q3J8r1..."
   */
  refresh_token?: string;

  user: UserDto;
}

export class RegisteredDto {
  user: UserDto;
}
