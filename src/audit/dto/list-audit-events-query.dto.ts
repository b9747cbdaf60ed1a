import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PageQueryDto } from '../../common/http/page-query.dto.js';
import { AUDIT_EVENT_TYPES, type AuditEventType } from '../audit-event-type.js';

export class ListAuditEventsQueryDto extends PageQueryDto {
  /** Only the events about this account (their `userId`). */
  @ApiPropertyOptional({ format: 'uuid', example: '2f0c7a3e-8c2e-4d55-9a3b-1f1f7e0c9b21' })
  @IsOptional()
  @IsUUID('all', { message: 'userId must be a UUID' })
  userId?: string;

  /** Only the events of this type. */
  @ApiPropertyOptional({ enum: AUDIT_EVENT_TYPES })
  @IsOptional()
  @IsIn(AUDIT_EVENT_TYPES, { message: `type must be one of ${AUDIT_EVENT_TYPES.join(', ')}` })
  type?: AuditEventType;
}
