import type { Login } from './api.js';

/** What every scenario gets: the server under test, its users, and the run's baselines. */
export interface Bench {
  /** Base URL of the server under test. */
  api: string;
  /** Its database, for the scenarios that fill or watch it. */
  dbUrl: string;
  /** Registered users (emails), all with the bench password. */
  users: string[];
  /** One signed-in session per user, in the same order. */
  sessions: Login[];
  adminToken: string;
  baselines: {
    /** Bare Fastify + pg primary-key select, req/s at c=50. */
    bareRps: number;
    /** Raw argon2id verifies/s with 10 and 50 in flight. */
    argon2: { 10: number; 50: number };
  };
}
