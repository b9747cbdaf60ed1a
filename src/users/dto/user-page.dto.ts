import { UserDto } from './user.dto.js';

/** One page of users. */
export class UserPageDto {
  items: UserDto[];

  /**
   * How many users match. Exact up to 10,000 matches (1,000 with `search`); beyond that,
   * PostgreSQL's estimate from its table statistics (never below the limit + 1), because
   * counting a million rows exactly costs more than the page itself (~110 ms vs ~1 ms).
   * @example 1
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
