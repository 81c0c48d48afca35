/** GitHub App JWT verification (RS256, iss = app id, exp at most 10 minutes ahead). */
import { createPublicKey, createVerify } from 'node:crypto';

export interface AppDef { appId: number; publicKeyPem: string; installations: { id: number; account: string }[] }

const b64urlJson = (s: string): any => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

/** Returns the app the JWT proves, or a reason it does not. Time is wall-clock: the JWT is signed with it. */
export function verifyAppJwt(jwt: string, apps: AppDef[], nowSec = Math.floor(Date.now() / 1000)): AppDef | string {
  const parts = jwt.split('.');
  if (parts.length !== 3) return 'not a JWT';
  const [h, p, sig] = parts as [string, string, string];
  let header: any;
  let payload: any;
  try {
    header = b64urlJson(h);
    payload = b64urlJson(p);
  } catch {
    return 'malformed JWT';
  }
  if (header.alg !== 'RS256') return 'JWT must be RS256';
  const app = apps.find((a) => String(a.appId) === String(payload.iss));
  if (!app) return 'Integration not found';
  const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(createPublicKey(app.publicKeyPem), Buffer.from(sig, 'base64url'));
  if (!ok) return 'A JSON web token could not be decoded';
  if (typeof payload.exp !== 'number' || payload.exp <= nowSec) return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  if (payload.exp - nowSec > 600 + 5) return "'Expiration time' claim ('exp') is too far in the future";
  if (typeof payload.iat === 'number' && payload.iat > nowSec + 60) return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
  return app;
}
