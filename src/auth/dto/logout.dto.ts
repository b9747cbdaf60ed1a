import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

export const LOGOUT_SCOPES = ['local', 'others', 'global'] as const;
export type LogoutScope = (typeof LOGOUT_SCOPES)[number];

export class LogoutDto {
  /**
   * `local` (default) ends this session, `others` every other session of the user, `global`
   * all of them.
   */
  @IsOptional()
  @IsIn(LOGOUT_SCOPES)
  scope?: LogoutScope;

  /**
   * Identifies the session when no access token is sent (or use the cookie).
   * @example "q3J8r1Vn5..."
   */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  refresh_token?: string;
}
