import { UserDto } from './user.dto.js';

/** One page of users. */
export class UserPageDto {
  items: UserDto[];

  /**
   * How many users match. Exact up to 10,000 matches; beyond that PostgreSQL's estimate
   * from table statistics (never below 10,001), because counting a million rows exactly
   * would cost more than the page itself. @example 1
   */
  total: number;

  /** @example 1 */
  page: number;

  /** @example 20 */
  limit: number;

  static of(items: UserDto[], total: number, page: number, limit: number): UserPageDto {
    return Object.assign(new UserPageDto(), { items, total, page, limit });
  }
}
