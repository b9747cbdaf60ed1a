import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { PasswordPolicy } from './password-policy.js';
import { PasswordService } from './password.service.js';
import { UsersRepository } from './users.repository.js';

/** Accounts: the users table, password hashing, and (later) self-service and admin routes. */
@Module({
  imports: [SessionsModule],
  providers: [UsersRepository, PasswordService, PasswordPolicy],
  exports: [UsersRepository, PasswordService, PasswordPolicy],
})
export class UsersModule {}
