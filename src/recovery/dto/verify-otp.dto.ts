import { Transform } from 'class-transformer';
import { IsString, Matches } from 'class-validator';
import { EmailDto } from './email.dto.js';

export class VerifyOtpDto extends EmailDto {
  /**
   * The 6-digit code of the latest reset email for this address (spaces are ignored).
   * @example "042917"
   */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.replace(/\s+/g, '') : value,
  )
  @IsString()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code: string;
}
