// GET /api/users: filters, search, sorting, paging and query validation, on a server whose
// database holds only the users made here, so totals are exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectUser } from './support/assertions.js';
import { login, strongPassword } from './support/fixtures.js';
import { type Api, describeResponse, expectProblem, sleep } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const ADMIN_EMAIL = 'list-admin@example.com';
const ADMIN_PASSWORD = 'a-long-bootstrap-passphrase';

interface Seed {
  email: string;
  username?: string;
  firstName: string;
  lastName: string;
  role?: 'ADMIN' | 'USER';
  active?: boolean;
}

/** Created in this order, so createdAt ascends along the list (after the bootstrap admin). */
const SEEDS: Seed[] = [
  { email: 'ada@example.com', username: 'ada', firstName: 'Ada', lastName: 'Lovelace' },
  { email: 'alan@example.org', username: 'turing', firstName: 'Alan', lastName: 'Turing' },
  { email: 'grace@navy.mil', firstName: 'Grace', lastName: 'Hopper', role: 'ADMIN' },
  {
    email: 'edsger@example.nl',
    username: 'ewd',
    firstName: 'Edsger',
    lastName: 'Dijkstra',
    active: false,
  },
  { email: 'barbara@example.com', username: 'liskov', firstName: 'Barbara', lastName: 'Liskov' },
  {
    email: 'li.wei@example.cn',
    username: 'wei_li',
    firstName: 'Wei',
    lastName: 'Li',
    active: false,
  },
  { email: 'percent@example.com', username: '100_pct', firstName: '100%', lastName: 'Sure' },
];

let server: TestServer;
let api: Api;
let token: string;
const ids = new Map<string, string>();

beforeAll(async () => {
  server = await startServer({ env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  api = server.api;
  const admin = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD);
  token = admin.accessToken;
  ids.set(ADMIN_EMAIL, admin.user.id);
  for (const seed of SEEDS) {
    const res = await api.post('/api/users', { ...seed, password: strongPassword() }, { token });
    if (res.status !== 201) throw new Error(describeResponse(res));
    ids.set(seed.email, res.body.id);
    await sleep(5); // distinct createdAt values
  }
  // Logins in a known order: lastLoginAt ascends alan < barbara; everyone else never logged in.
  const loginAs = async (email: string) => {
    const password = strongPassword();
    await api.patch(`/api/users/${ids.get(email)}`, { password }, { token });
    await login(api, email, password);
    await sleep(5);
  };
  await loginAs('alan@example.org');
  await loginAs('barbara@example.com');
  token = (await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken; // admin logs in last
});
afterAll(cleanup);

const list = (query: string) => api.get(`/api/users${query}`, { token });

interface Listed {
  emails: string[];
  total: number;
  body: { items: unknown[]; total: number; page: number; limit: number };
}

async function emails(query: string): Promise<Listed> {
  const res = await list(query);
  expect(res.status, describeResponse(res)).toBe(200);
  return {
    emails: res.body.items.map((u: { email: string }) => u.email),
    total: res.body.total,
    body: res.body,
  };
}

const ALL = [ADMIN_EMAIL, ...SEEDS.map((s) => s.email)];

describe('GET /api/users', () => {
  it('answers { items, total, page, limit } with defaults page 1, limit 20, newest first', async () => {
    const { body } = await emails('');
    expect(Object.keys(body).sort()).toEqual(['items', 'limit', 'page', 'total']);
    expect(body).toMatchObject({ page: 1, limit: 20, total: ALL.length });
    body.items.forEach((user) => expectUser(user));
    expect(body.items.map((u) => (u as { email: string }).email)).toEqual([...ALL].reverse());
  });

  it('sorts by createdAt, email, username and lastLoginAt, both ways', async () => {
    expect((await emails('?sort=createdAt&order=asc')).emails).toEqual(ALL);
    const byEmail = [...ALL].sort();
    expect((await emails('?sort=email')).emails).toEqual(byEmail);
    expect((await emails('?sort=email&order=desc')).emails).toEqual([...byEmail].reverse());

    const named = SEEDS.filter((s) => s.username).sort((a, b) =>
      a.username!.localeCompare(b.username!, 'en'),
    );
    const unnamed = ALL.filter((e) => !named.some((s) => s.email === e));
    const asc = (await emails('?sort=username&order=asc')).emails;
    // No username counts as the lowest: first ascending, last descending.
    expect(asc.slice(unnamed.length)).toEqual(named.map((s) => s.email));
    expect(new Set(asc.slice(0, unnamed.length))).toEqual(new Set(unnamed));
    const desc = (await emails('?sort=username&order=desc')).emails;
    expect(desc.slice(0, named.length)).toEqual(named.map((s) => s.email).reverse());

    const lastLogin = (await emails('?sort=lastLoginAt')).emails; // default desc
    expect(lastLogin.slice(0, 3)).toEqual([ADMIN_EMAIL, 'barbara@example.com', 'alan@example.org']);
    const lastLoginAsc = (await emails('?sort=lastLoginAt&order=asc')).emails;
    expect(lastLoginAsc.slice(-3)).toEqual([
      'alan@example.org',
      'barbara@example.com',
      ADMIN_EMAIL,
    ]);
  });

  it('pages with page and limit; total stays the number of matches', async () => {
    const all = (await emails('?sort=email&limit=100')).emails;
    const pages: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const r = await emails(`?sort=email&limit=3&page=${page}`);
      expect(r.total).toBe(ALL.length);
      expect(r.body).toMatchObject({ page, limit: 3 });
      pages.push(...r.emails);
    }
    expect(pages).toEqual(all);
    const beyond = await emails('?page=50');
    expect(beyond.emails).toEqual([]);
    expect(beyond.total).toBe(ALL.length);
  });

  it('filters by role and active, alone and together', async () => {
    const admins = await emails('?role=ADMIN&sort=email');
    expect(admins.emails).toEqual(['grace@navy.mil', ADMIN_EMAIL]);
    expect(admins.total).toBe(2);
    const inactive = await emails('?active=false&sort=email');
    expect(inactive.emails).toEqual(['edsger@example.nl', 'li.wei@example.cn']);
    expect(inactive.total).toBe(2);
    const activeUsers = await emails('?active=true&role=USER&sort=email');
    expect(activeUsers.emails).toEqual([
      'ada@example.com',
      'alan@example.org',
      'barbara@example.com',
      'percent@example.com',
    ]);
    expect(activeUsers.total).toBe(4);
  });

  it('searches email, username and names, case-insensitively', async () => {
    const cases: [string, string[]][] = [
      ['LOVELACE', ['ada@example.com']], // last name
      ['turing', ['alan@example.org']], // username and last name
      ['navy', ['grace@navy.mil']], // email domain
      ['ada lovelace', ['ada@example.com']], // "first last"
      [
        'example.c',
        [
          'ada@example.com',
          'barbara@example.com',
          'li.wei@example.cn',
          ADMIN_EMAIL,
          'percent@example.com',
        ],
      ],
      ['li', ['barbara@example.com', 'li.wei@example.cn', ADMIN_EMAIL]], // short: word starts only (liskov, Li, li.wei), not "alan"
      ['100%', ['percent@example.com']], // % is literal
      ['1_0', []], // _ is literal
      ['nobody-here', []],
    ];
    for (const [term, expected] of cases) {
      const r = await emails(`?search=${encodeURIComponent(term)}&sort=email`);
      expect(r.emails, term).toEqual(expected);
      expect(r.total, term).toBe(expected.length);
    }
  });

  it('combines search, filters, sorting and paging', async () => {
    const r = await emails(
      '?search=example&active=true&role=USER&sort=email&order=desc&limit=2&page=2',
    );
    expect(r.emails).toEqual(['alan@example.org', 'ada@example.com']);
    expect(r.total).toBe(4);
  });

  it('answers 400 VALIDATION_FAILED to bad query values and unknown parameters', async () => {
    for (const query of [
      'page=0',
      'page=-1',
      'page=1.5',
      'page=abc',
      'page=99999999999999999999',
      'limit=0',
      'limit=101',
      'limit=',
      'role=ROOT',
      'active=yes',
      'active=1',
      'sort=password',
      'sort=passwordHash',
      'order=up',
      'page=1&page=2',
      'foo=bar',
      `search=${'x'.repeat(101)}`,
    ]) {
      expectProblem(await list(`?${query}`), 400, 'VALIDATION_FAILED');
    }
  });
});
