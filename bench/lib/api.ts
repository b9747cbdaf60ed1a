/** The bench's users, made and signed in through the API like any client's. */
import { password } from './options.js';

export interface Login {
  access_token: string;
  refresh_token: string;
  user: { id: string };
}

export async function registerUsers(api: string, count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, (_, i) => `bench-${i}@example.com`);
  for (let i = 0; i < emails.length; i += 10) {
    await Promise.all(
      emails.slice(i, i + 10).map(async (email) => {
        const response = await fetch(`${api}/api/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password }),
        });
        if (response.status !== 201)
          throw new Error(`register ${email}: ${response.status} ${await response.text()}`);
      }),
    );
  }
  return emails;
}

export async function login(api: string, email: string): Promise<Login> {
  const response = await fetch(`${api}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200)
    throw new Error(`login ${email}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Login;
}
