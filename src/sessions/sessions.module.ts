import { Module } from '@nestjs/common';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

/** Sessions and refresh tokens, shared by AuthModule and UsersModule (which revokes on changes). */
@Module({
  providers: [SessionsRepository, SessionsService],
  exports: [SessionsService, SessionsRepository],
})
export class SessionsModule {}
