import { SignJWT } from 'jose';

/** A token for `userId` signed with the HS256 secret: { sub, iat, exp }, exp `ttlSeconds` after iat. */
export function signHs256Token(userId: string, secret: string, ttlSeconds: number): Promise<string> {
  const issuedAt = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: userId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
