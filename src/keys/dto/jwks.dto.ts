import { ApiProperty } from '@nestjs/swagger';

export class JwkDto {
  /** @example "EC" */
  kty: string;
  /** @example "P-256" */
  crv?: string;
  /** @example "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU" */
  x?: string;
  /** @example "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" */
  y?: string;
  /**
   * RFC 7638 thumbprint of the key; the `kid` header of access tokens.
   * @example "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
   */
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
