import { IsString, Matches } from 'class-validator';

export const DEV_USER_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export class DevTokenDto {
  // class-validator runs the decorators bottom-up: the type check sits last so it speaks first.
  @Matches(DEV_USER_ID_PATTERN, {
    message: 'user_id must be 1 to 64 letters, digits, dots, dashes, underscores or @ signs',
  })
  @IsString({ message: 'user_id must be a string' })
  user_id: string;
}
