import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../common/decorators/public.decorator.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ApiProblems } from '../common/http/api-problems.decorator.js';
import { HealthDto } from './health.dto.js';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
  ) {}

  /** 200 while the process runs (liveness probe). */
  @Get('live')
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness probe' })
  live(): HealthDto {
    return { status: 'ok' };
  }

  /** 200 when the database answers within a second, else 503 (readiness probe). */
  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ operationId: 'getReadiness', summary: 'Readiness probe' })
  @ApiProblems(ErrorCode.SERVICE_UNAVAILABLE)
  async ready(): Promise<HealthDto> {
    await this.health.check([() => this.database.pingCheck('database', { timeout: 1_000 })]);
    return { status: 'ok' };
  }
}
