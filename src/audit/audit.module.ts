import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit.controller.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';

/** The audit trail and its admin route. Global: every feature records its events. */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditService],
  // The repository too, for the admin bootstrap (shared with the CLI, which has no Nest).
  exports: [AuditService, AuditRepository],
})
export class AuditModule {}
