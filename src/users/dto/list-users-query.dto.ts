import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, type TransformFnParams } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/http/page-query.dto.js';
import { trimmed } from '../../common/http/transforms.js';
import { ROLES, type Role } from '../../common/auth/role.js';
import { SORT_ORDERS, USER_SORT_KEYS, type SortOrder, type UserSortKey } from '../user-list-sql.js';

/** Query strings carry text: `true`/`false` become booleans, anything else fails validation. */
const booleanText = ({ value }: TransformFnParams): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

export class ListUsersQueryDto extends PageQueryDto {
  /**
   * Case-insensitive. A term of 3 or more characters matches anywhere in the email,
   * username, first or last name, or in "first last" (so "ada lovelace" finds Ada
   * Lovelace); a 1–2 character term matches the start of a word (after a space, `.`, `_`,
   * `@` or `-`), so "li" finds "Li" but not "alice". Every character matches itself. An exact `externalId`
   * (the id an imported user had before) matches too.
   * @example "lovelace"
   */
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(100)
  search?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role?: Role;

  /** `true` or `false`. */
  @ApiPropertyOptional({ type: Boolean, example: true })
  @IsOptional()
  @Transform(booleanText)
  @IsBoolean({ message: 'active must be true or false' })
  active?: boolean;

  /** `true` or `false`: users with or without a second factor. */
  @ApiPropertyOptional({ type: Boolean, example: true })
  @IsOptional()
  @Transform(booleanText)
  @IsBoolean({ message: 'mfaEnabled must be true or false' })
  mfaEnabled?: boolean;

  /**
   * Sort key. `username` and `lastLoginAt` may be null: nulls come first ascending and
   * last descending (a user who never logged in counts as the oldest login).
   */
  @ApiPropertyOptional({ enum: USER_SORT_KEYS, default: 'createdAt' })
  @IsOptional()
  @IsIn(USER_SORT_KEYS, { message: `sort must be one of ${USER_SORT_KEYS.join(', ')}` })
  sort: UserSortKey = 'createdAt';

  /** Default `desc` (newest first) for `createdAt` and `lastLoginAt`, `asc` for `email` and `username`. */
  @ApiPropertyOptional({ enum: SORT_ORDERS })
  @IsOptional()
  @IsIn(SORT_ORDERS, { message: 'order must be asc or desc' })
  order?: SortOrder;
}
