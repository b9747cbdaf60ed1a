import { IsString, MaxLength } from 'class-validator';

export class DeleteMeDto {
  /**
   * The account's current password, as a last check before it is deleted.
   * @example "correct horse battery staple"
   */
  @IsString()
  @MaxLength(1024)
  password: string;
}
