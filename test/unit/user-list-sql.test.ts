// Unit tests: how GET /api/users turns its query into SQL (filters, ordering, search).
import { describe, expect, it } from 'vitest';
import { escapeLike, orderByClause, whereClause } from '../../src/users/user-list-sql.js';

describe('whereClause', () => {
  it('is true for an empty filter', () => {
    expect(whereClause({})).toEqual({ sql: 'true', params: {} });
  });

  it('names its parameters after the conditions, in their order', () => {
    const { sql, params } = whereClause({ search: 'ada', role: 'ADMIN', active: false });
    expect(sql).toMatch(
      /ILIKE :search OR external_id = :searchExact\) AND role = :role AND active = :active$/,
    );
    expect(params).toEqual({ search: '%ada%', searchExact: 'ada', role: 'ADMIN', active: false });
  });

  it('keeps false and a lone role as conditions, not as missing values', () => {
    expect(whereClause({ active: false })).toEqual({
      sql: 'active = :active',
      params: { active: false },
    });
    expect(whereClause({ role: 'USER' })).toEqual({
      sql: 'role = :role',
      params: { role: 'USER' },
    });
  });

  it('matches terms of 3+ characters anywhere, with LIKE wildcards taken literally', () => {
    expect(whereClause({ search: '50%_off\\' }).params).toEqual({
      search: '%50\\%\\_off\\\\%',
      searchExact: '50%_off\\',
    });
  });

  it('matches shorter terms at the start of a word, with regex characters taken literally', () => {
    const { sql, params } = whereClause({ search: 'a.' });
    expect(sql).toContain('~* :search');
    expect(params).toEqual({ search: '(^|[ ._@-])a\\.', searchExact: 'a.' });
    expect(new RegExp(params.search as string, 'i').test('x a.y')).toBe(true);
    expect(new RegExp(params.search as string, 'i').test('xa.y')).toBe(false);
  });

  it('counts code points, not UTF-16 units, for the 3-character rule', () => {
    // Two emoji are four UTF-16 units but two characters: a word-start match.
    expect(whereClause({ search: '😀😀' }).sql).toContain('~*');
    expect(whereClause({ search: '😀😀😀' }).sql).toContain('ILIKE');
  });

  it('uses the exact expression of the trigram index', () => {
    expect(whereClause({ search: 'abc' }).sql).toContain(
      `(email || ' ' || coalesce(username, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, ''))`,
    );
  });
});

describe('orderByClause', () => {
  it.each([
    ['createdAt', 'asc', 'ORDER BY created_at asc, id asc'],
    ['createdAt', 'desc', 'ORDER BY created_at desc, id desc'],
    ['email', 'asc', 'ORDER BY lower(email) asc'],
    ['username', 'asc', 'ORDER BY lower(username) asc NULLS FIRST, id asc'],
    ['lastLoginAt', 'desc', 'ORDER BY last_login_at desc NULLS LAST, id desc'],
  ] as const)('orders %s %s as %j', (sort, order, sql) => {
    const terms = orderByClause(sort, order).map((term) =>
      [term.expression, term.order.toLowerCase(), term.nulls].filter(Boolean).join(' '),
    );
    expect(`ORDER BY ${terms.join(', ')}`).toBe(sql);
  });
});

describe('escapeLike', () => {
  it('escapes the LIKE metacharacters and nothing else', () => {
    expect(escapeLike('a%b_c\\d.e*')).toBe('a\\%b\\_c\\\\d.e*');
  });
});
