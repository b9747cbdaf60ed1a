import { IsOptional, IsString, MaxLength } from 'class-validator';

export class RefreshDto {
  /** Required unless the refresh token travels in the `refresh_token` cookie (cookie transport). */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  refresh_token?: string;
}
