import { IsOptional, IsString, MaxLength } from 'class-validator';

export class RefreshDto {
  /**
   * Required unless the refresh token travels in the `refresh_token` cookie (cookie transport).
   * @example "q3J8r1Vn5..."
   */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  refresh_token?: string;
}
