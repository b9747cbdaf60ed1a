import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/decorators/public.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { Client, type ClientInfo } from '../common/http/client-info.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { EmailDto } from './dto/email.dto.js';
import { MessageDto } from './dto/message.dto.js';
import { ResetPasswordDto } from './dto/reset-password.dto.js';
import { ResetTokenDto } from './dto/reset-token.dto.js';
import { VerifyOtpDto } from './dto/verify-otp.dto.js';
import { RecoveryService } from './recovery.service.js';

const RESET_REQUESTED =
  'If an account exists for this email, we have sent it a link and a code to reset the password.';

@ApiTags('recovery')
@Controller('api/recovery')
export class RecoveryController {
  constructor(private readonly recovery: RecoveryService) {}

  /**
   * Emails a link (`{APP_URL}/reset-password?token=...`) and a 6-digit code, both valid for
   * `RECOVERY_TOKEN_TTL` (15 minutes) and once; a new request replaces the previous one.
   * The answer is the same, in body and timing, whether or not the account exists, and
   * never waits for the mail server. Rate limited per IP (`RATE_LIMIT_FORGOT_PASSWORD_IP`,
   * 10 per 15 minutes) and per email (`RATE_LIMIT_FORGOT_PASSWORD_ACCOUNT`, 5 per hour).
   */
  @Public()
  @RateLimit('forgotPassword')
  @Post('forgot-password')
  @HttpCode(202)
  @ApiOperation({ operationId: 'forgotPassword', summary: 'Request a password reset email' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.RATE_LIMITED)
  async forgotPassword(@Body() dto: EmailDto, @Client() client: ClientInfo): Promise<MessageDto> {
    await this.recovery.forgotPassword(dto.email, client);
    return MessageDto.of(RESET_REQUESTED);
  }

  /**
   * Trades the emailed code for a `reset_token`. After `OTP_MAX_ATTEMPTS` (5) wrong codes
   * the code is dead, even the right one (`TOO_MANY_ATTEMPTS`): request a new email. An
   * unknown email gets `INVALID_CODE`. Rate limited per IP (`RATE_LIMIT_VERIFY_OTP_IP`, 30
   * per 5 minutes) and per email (`RATE_LIMIT_VERIFY_OTP_ACCOUNT`, 10 per 15 minutes).
   */
  @Public()
  @RateLimit('verifyOtp')
  @Post('verify-otp')
  @HttpCode(200)
  @ApiOperation({ operationId: 'verifyOtp', summary: 'Trade the emailed code for a reset token' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_CODE,
    ErrorCode.TOO_MANY_ATTEMPTS,
    ErrorCode.RATE_LIMITED,
  )
  async verifyOtp(@Body() dto: VerifyOtpDto): Promise<ResetTokenDto> {
    const issued = await this.recovery.verifyCode(dto.email, dto.code);
    return { reset_token: issued.resetToken, expires_in: issued.expiresInSeconds };
  }

  /**
   * Sets a new password with the link token or the `reset_token`. Every session of the
   * account is revoked, its email is marked verified and a "password changed" email is
   * sent. The token is used up, unless the password is refused (`WEAK_PASSWORD`). The login
   * backoff of the account is cleared: a reset is the way out of a lock-out. Rate limited
   * per IP (`RATE_LIMIT_RESET_PASSWORD_IP`, 30 per 15 minutes) and per token
   * (`RATE_LIMIT_RESET_PASSWORD_ACCOUNT`, 10 per 15 minutes): each try hashes a password.
   */
  @Public()
  @RateLimit('resetPassword')
  @Post('reset-password')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'resetPassword',
    summary: 'Set a new password with a reset token',
    description:
      'Rate limited per IP (`RATE_LIMIT_RESET_PASSWORD_IP`) and per presented token (`RATE_LIMIT_RESET_PASSWORD_ACCOUNT`): each try hashes a password.',
  })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_OR_EXPIRED_TOKEN,
    ErrorCode.WEAK_PASSWORD,
    ErrorCode.RATE_LIMITED,
    ErrorCode.SERVICE_UNAVAILABLE,
  )
  async resetPassword(@Body() dto: ResetPasswordDto, @Client() client: ClientInfo): Promise<void> {
    await this.recovery.resetPassword(dto.token, dto.newPassword, client);
  }
}
