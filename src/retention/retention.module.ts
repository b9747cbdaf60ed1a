import { Module } from '@nestjs/common';
import { RetentionRepository } from './retention.repository.js';
import { RetentionService } from './retention.service.js';

/** The scheduled deletion of rows past their retention (AUDIT_RETENTION, EXPIRED_RETENTION). */
@Module({ providers: [RetentionRepository, RetentionService] })
export class RetentionModule {}
