import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class VerifyEmailDto {
  /** The token of the emailed link (`/verify-email?token=...`). Works once. @example "Xb3v0q7k2mC9yQp1..." */
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  token: string;
}
