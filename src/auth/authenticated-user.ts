export interface AuthenticatedUser {
  /** The JWT's `sub`: the only identity the service knows. */
  userId: string;
}
