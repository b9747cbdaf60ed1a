import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/decorators/public.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { Client, type ClientInfo } from '../common/http/client-info.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { UserDto } from '../users/dto/user.dto.js';
import { EmailDto } from './dto/email.dto.js';
import { MessageDto } from './dto/message.dto.js';
import { VerifyEmailDto } from './dto/verify-email.dto.js';
import { EmailVerificationService } from './email-verification.service.js';

const VERIFICATION_SENT =
  'If this email belongs to an account that is not verified yet, we have sent it a new link.';

/** The two email-verification routes of the Auth table. */
@ApiTags('auth')
@Controller('api/auth')
export class EmailVerificationController {
  constructor(private readonly verification: EmailVerificationService) {}

  /**
   * Marks the email of the link's account verified. The token comes from the link of the
   * verification email (`{APP_URL}/verify-email?token=...`); it works once and expires after
   * `EMAIL_VERIFICATION_TTL` (24 hours). Rate limited per IP (`RATE_LIMIT_VERIFY_EMAIL_IP`,
   * 30 per 5 minutes).
   */
  @Public()
  @RateLimit('verifyEmail')
  @Post('verify-email')
  @HttpCode(200)
  @ApiOperation({ operationId: 'verifyEmail', summary: 'Verify an email address' })
  @ApiProblems(
    ErrorCode.VALIDATION_FAILED,
    ErrorCode.INVALID_OR_EXPIRED_TOKEN,
    ErrorCode.RATE_LIMITED,
  )
  async verifyEmail(@Body() dto: VerifyEmailDto, @Client() client: ClientInfo): Promise<UserDto> {
    return UserDto.from(await this.verification.verify(dto.token, client));
  }

  /**
   * Sends a new verification link, replacing the previous one, when the email belongs to an
   * account that is not verified yet. The answer is the same for any email. Rate limited per
   * IP (`RATE_LIMIT_RESEND_VERIFICATION_IP`, 10 per 15 minutes) and per email
   * (`RATE_LIMIT_RESEND_VERIFICATION_ACCOUNT`, 5 per hour).
   */
  @Public()
  @RateLimit('resendVerification')
  @Post('resend-verification')
  @HttpCode(202)
  @ApiOperation({ operationId: 'resendVerification', summary: 'Send a new verification email' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.RATE_LIMITED)
  async resendVerification(@Body() dto: EmailDto): Promise<MessageDto> {
    await this.verification.resend(dto.email);
    return MessageDto.of(VERIFICATION_SENT);
  }
}
