/** Standard Webhooks secrets: "whsec_" and the base64 of 24 to 64 random bytes. */
const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

export const WEBHOOK_SECRET_RULE =
  'WEBHOOK_SECRET must be one or more secrets of the form whsec_<base64 of 24 to 64 random bytes>, separated by spaces ' +
  '(make one with: echo "whsec_$(openssl rand -base64 32)")';

/**
 * The signing keys in WEBHOOK_SECRET, newest first as listed: during a rotation it lists the new
 * secret and the old one, and every delivery is signed with each. Undefined when one is malformed.
 */
export function webhookSigningKeys(raw: string): Buffer[] | undefined {
  const secrets = raw.split(/[\s,]+/).filter(Boolean);
  if (secrets.length === 0) return undefined;
  const keys: Buffer[] = [];
  for (const secret of secrets) {
    const match = SECRET.exec(secret);
    const key = match ? Buffer.from(match[1], 'base64') : undefined;
    if (!key || key.length < 24 || key.length > 64) return undefined;
    keys.push(key);
  }
  return keys;
}
