import { ApiProperty } from '@nestjs/swagger';

export class JwkDto {
  /** @example "EC" */
  kty: string;
  /** @example "P-256" */
  crv?: string;
  x?: string;
  y?: string;
  /** RFC 7638 thumbprint of the key; the `kid` header of access tokens. */
  kid: string;
  @ApiProperty({ example: 'ES256' })
  alg: string;
  @ApiProperty({ example: 'sig' })
  use: string;
}

export class JwksDto {
  @ApiProperty({ type: [JwkDto] })
  keys: JwkDto[];
}
