import { Module } from '@nestjs/common';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AdminBootstrap } from './admin-bootstrap.js';
import { PasswordPolicy } from './password-policy.js';
import { PasswordService } from './password.service.js';
import { UserImportController } from './user-import.controller.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';

/** Accounts: the users table, password hashing, self-service and admin routes, the bootstrap admin. */
@Module({
  imports: [SessionsModule, RateLimitModule],
  controllers: [UsersController, UserImportController],
  providers: [UsersRepository, PasswordService, PasswordPolicy, UsersService, AdminBootstrap],
  exports: [UsersRepository, PasswordService, PasswordPolicy, UsersService],
})
export class UsersModule {}
