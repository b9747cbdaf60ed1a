import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../common/decorators/roles.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { AuditService } from './audit.service.js';
import { AuditEventPageDto } from './dto/audit-event-page.dto.js';
import { AuditEventDto } from './dto/audit-event.dto.js';
import { ListAuditEventsQueryDto } from './dto/list-audit-events-query.dto.js';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('api/audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /**
   * The audit trail, newest first, optionally only the events about one account (`userId`)
   * or of one `type`. Events are written in the transaction of the change they record and
   * never hold a password, token, code or Authorization header. `total` is exact up to
   * 10,000 matches and PostgreSQL's estimate beyond.
   */
  @Get()
  @Roles('ADMIN')
  @ApiOperation({ operationId: 'listAuditEvents', summary: 'List audit events (admin)' })
  @ApiProblems(ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN)
  async list(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    const page = await this.audit.list(
      { userId: query.userId, type: query.type },
      query.page,
      query.limit,
    );
    return AuditEventPageDto.of(
      page.items.map((event) => AuditEventDto.from(event)),
      page.total,
      query.page,
      query.limit,
    );
  }
}
