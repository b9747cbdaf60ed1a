import { IntersectionType, PartialType, PickType } from '@nestjs/swagger';
import { CreateUserDto } from './create-user.dto.js';
import { UpdateMeDto } from './update-me.dto.js';

/**
 * What an admin may change. Omitted fields stay as they are; `username`, `firstName` and
 * `lastName` can be cleared with `null`, the other fields cannot be null
 * (`skipNullProperties: false` validates a null like any other value).
 */
export class UpdateUserDto extends IntersectionType(
  PartialType(
    PickType(CreateUserDto, ['email', 'password', 'role', 'active', 'emailVerified'] as const),
    { skipNullProperties: false },
  ),
  UpdateMeDto,
) {}
