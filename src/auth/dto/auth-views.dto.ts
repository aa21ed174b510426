export class AuthConfigView {
  /** Whether POST /api/auth/dev-token is available. */
  dev_login: boolean;
}

export class DevTokenView {
  /** An HS256 JWT for the user, to send as "Authorization: Bearer <token>". */
  token: string;
  user_id: string;
  /** Seconds until the token expires. */
  expires_in: number;
}
