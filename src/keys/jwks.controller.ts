import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/decorators/public.decorator.js';
import { JwksDto } from './dto/jwks.dto.js';
import { SigningKeys } from './signing-keys.js';

@ApiTags('keys')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeys) {}

  /** The public keys that verify access tokens (RFC 7517), for resource servers. */
  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ operationId: 'getJwks', summary: 'Public signing keys (JWKS)' })
  jwks(): JwksDto {
    return { keys: [this.keys.jwk] };
  }
}
