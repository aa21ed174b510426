import jwt from 'jsonwebtoken';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** An identity provider's JWKS endpoint on 127.0.0.1, with keys that can be rotated. */
export class JwksServer {
  readonly issuer = 'https://id.example.test/';
  readonly audience = 'voice-interviews';
  requests = 0;
  /** What the endpoint answers; anything but 200 is an outage (no key set). */
  status = 200;
  private keys: SigningKey[] = [];
  private server!: Server;
  url = '';

  static async start(): Promise<JwksServer> {
    const jwks = new JwksServer();
    jwks.rotate('rsa-1', 'RS256');
    jwks.rotate('ec-1', 'ES256', true);
    jwks.server = createServer((req, res) => {
      jwks.requests++;
      if (jwks.status !== 200) return void res.writeHead(jwks.status).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          keys: jwks.keys.map((k) => ({
            ...k.publicKey.export({ format: 'jwk' }),
            kid: k.kid,
            alg: k.alg,
            use: 'sig',
          })),
        }),
      );
    });
    await new Promise<void>((resolve) => jwks.server.listen(0, '127.0.0.1', resolve));
    jwks.url = `http://127.0.0.1:${(jwks.server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return jwks;
  }

  /** Publishes a new key (and drops the old ones unless `keep`). */
  rotate(kid: string, alg: 'RS256' | 'ES256', keep = false): void {
    const pair =
      alg === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.keys = [...(keep ? this.keys : []), { kid, alg, ...pair }];
  }

  key(kid: string): SigningKey {
    const key = this.keys.find((k) => k.kid === kid);
    if (!key) throw new Error(`no key ${kid}`);
    return key;
  }

  sign(kid: string, claims: Record<string, unknown> = { sub: 'alice' }, options: jwt.SignOptions = {}): string {
    const key = this.key(kid);
    return jwt.sign(claims, key.privateKey, {
      algorithm: key.alg,
      keyid: kid,
      issuer: this.issuer,
      audience: this.audience,
      expiresIn: 600,
      ...options,
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
