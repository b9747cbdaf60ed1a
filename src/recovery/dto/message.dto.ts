/** An acknowledgement that says what happens next, identical whether the account exists or not. */
export class MessageDto {
  /** @example "If an account exists for this email, we have sent it a message." */
  message: string;

  static of(message: string): MessageDto {
    const dto = new MessageDto();
    dto.message = message;
    return dto;
  }
}
