import { IsBoolean, IsIn } from 'class-validator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { OptionalNotNull } from '../../common/http/optional.js';
import { RegisterDto } from '../../auth/dto/register.dto.js';
import { ROLES, type Role } from '../../common/auth/role.js';

/** An account created by an admin: the registration fields plus what only admins may set. */
export class CreateUserDto extends RegisterDto {
  /** Default `USER`. */
  @ApiPropertyOptional({ enum: ROLES, example: 'USER' })
  @OptionalNotNull()
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role?: Role;

  /** An inactive account cannot log in. Default `true`. @example true */
  @OptionalNotNull()
  @IsBoolean()
  active?: boolean;

  /** Default `false`. @example false */
  @OptionalNotNull()
  @IsBoolean()
  emailVerified?: boolean;
}
