// Bearer-token access: admin tokens read and write, read tokens only read. No tokens at all means open.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpProblem, problems } from './problem';

export interface AccessTokens {
  admin: readonly string[];
  read: readonly string[];
}

export type Access = 'read' | 'write';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="integrations-service"' };

// Comparing digests keeps the comparison constant-time whatever the tokens' lengths.
const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * The label a token goes by in audit lines: its kind and the first 8 hex digits of its SHA-256, which an
 * operator computes with `printf %s "$TOKEN" | sha256sum | cut -c1-8`; never the token.
 */
export const tokenLabel = (kind: 'admin' | 'read', token: string): string => `${kind}:${digest(token).toString('hex').slice(0, 8)}`;

export function createAuthorizer(tokens: AccessTokens): (access: Access) => RequestHandler {
  const admin = tokens.admin.map(digest);
  const read = tokens.read.map(digest);
  const open = admin.length === 0 && read.length === 0;
  // Every token is compared, so the time taken does not say which one matched; the index says which.
  const matching = (candidate: Buffer, list: Buffer[]): number =>
    list.reduce((found, d, index) => (timingSafeEqual(d, candidate) && found < 0 ? index : found), -1);

  return (access) => (req, res, next) => {
    if (open) return next();
    const header = req.get('authorization') ?? '';
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!token) throw new HttpProblem(problems.unauthorized('Send "Authorization: Bearer <token>".'), CHALLENGE);
    const candidate = digest(token);
    if (matching(candidate, admin) >= 0) {
      res.locals.principal = tokenLabel('admin', token);
      return next();
    }
    if (matching(candidate, read) >= 0) {
      res.locals.principal = tokenLabel('read', token);
      if (access === 'read') return next();
      throw new HttpProblem(problems.forbidden('This token may only read.'));
    }
    throw new HttpProblem(problems.unauthorized('The token is not valid.'), { ...CHALLENGE, 'WWW-Authenticate': `${CHALLENGE['WWW-Authenticate']}, error="invalid_token"` });
  };
}
