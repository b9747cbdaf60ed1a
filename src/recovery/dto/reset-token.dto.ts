/** What a correct code is traded for (OAuth-style snake_case, like the token response). */
export class ResetTokenDto {
  /** Sets a new password once with `reset-password`. @example "q3J8r1Vn5..." */
  reset_token: string;

  /** Seconds until `reset_token` expires (`RECOVERY_TOKEN_TTL`). @example 900 */
  expires_in: number;
}
