import type { User } from '../users/entities/user.entity.js';

/** The authenticated caller of a request, as the access-token guard found it in the database. */
export interface Principal {
  readonly user: User;
  readonly sessionId: string;
}
