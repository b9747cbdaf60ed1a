import { PartialType, PickType } from '@nestjs/swagger';
import { RegisterDto } from '../../auth/dto/register.dto.js';

/**
 * The profile fields a user may change on their own account. Omitted fields stay as they
 * are; `null` clears one.
 */
export class UpdateMeDto extends PartialType(
  PickType(RegisterDto, ['username', 'firstName', 'lastName'] as const),
) {}
