import { Transform } from 'class-transformer';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { lowerTrimmed } from '../../common/http/transforms.js';

/** `password` and exactly one of `email` or `username`. */
export class LoginDto {
  /** @example "ada@example.com" */
  @IsOptional()
  @Transform(lowerTrimmed)
  @IsString()
  @MaxLength(254)
  email?: string;

  /** @example "ada" */
  @IsOptional()
  @Transform(lowerTrimmed)
  @IsString()
  @MaxLength(32)
  username?: string;

  /** @example "correct horse battery staple" */
  @IsString()
  @MaxLength(1024)
  password: string;
}
