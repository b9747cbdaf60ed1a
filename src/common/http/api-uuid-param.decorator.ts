import { ApiParam } from '@nestjs/swagger';

/** Documents a UUID path parameter (a malformed one is answered 400 VALIDATION_FAILED). */
export function ApiUuidParam(name: string, description: string): MethodDecorator {
  return ApiParam({
    name,
    description,
    schema: { type: 'string', format: 'uuid', example: '2f0c7a3e-8c2e-4d55-9a3b-1f1f7e0c9b21' },
  });
}
