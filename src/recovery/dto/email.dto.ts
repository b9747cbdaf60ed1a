import { IsAccountEmail } from '../../users/dto/identifier.validator.js';

/** A request about an account identified by its email (forgot-password, resend-verification). */
export class EmailDto {
  /**
   * Normalized like every email (trimmed, fullwidth forms mapped, lower-cased, NFC) before
   * it is compared. @example "ada@example.com"
   */
  @IsAccountEmail()
  email: string;
}
