import { MfaStatusDto } from '../../mfa/dto/mfa.dto.js';
import type { MfaStatus } from '../../mfa/mfa.service.js';
import { UserDto } from '../../users/dto/user.dto.js';
import type { User } from '../../users/entities/user.entity.js';

/** The current user, and the second factors they have. */
export class MeDto extends UserDto {
  mfa: MfaStatusDto;

  static withMfa(user: User, mfa: MfaStatus): MeDto {
    return Object.assign(new MeDto(), UserDto.from(user), { mfa });
  }
}
