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

export function createAuthorizer(tokens: AccessTokens): (access: Access) => RequestHandler {
  const admin = tokens.admin.map(digest);
  const read = tokens.read.map(digest);
  const open = admin.length === 0 && read.length === 0;
  const matches = (candidate: Buffer, list: Buffer[]): boolean => list.reduce((found, d) => timingSafeEqual(d, candidate) || found, false);

  return (access) => (req, _res, next) => {
    if (open) return next();
    const header = req.get('authorization') ?? '';
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!token) throw new HttpProblem(problems.unauthorized('Send "Authorization: Bearer <token>".'), CHALLENGE);
    const candidate = digest(token);
    if (matches(candidate, admin)) return next();
    if (matches(candidate, read)) {
      if (access === 'read') return next();
      throw new HttpProblem(problems.forbidden('This token may only read.'));
    }
    throw new HttpProblem(problems.unauthorized('The token is not valid.'), { ...CHALLENGE, 'WWW-Authenticate': `${CHALLENGE['WWW-Authenticate']}, error="invalid_token"` });
  };
}
