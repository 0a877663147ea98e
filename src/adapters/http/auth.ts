// Bearer-token access: admin tokens read and write, read tokens only read. No tokens at all means open.
import { hash, timingSafeEqual } from 'node:crypto';
import { HttpProblem, problems } from './problem';
import type { HttpRequest, HttpResponse } from './request-context';

export interface AccessTokens {
  admin: readonly string[];
  read: readonly string[];
}

export type Access = 'read' | 'write';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="integrations-service"' };

// Comparing digests keeps the comparison constant-time whatever the tokens' lengths.
// One-shot hashing (crypto.hash, Node >= 20.12): no Hash object per request.
const digest = (token: string): Buffer => hash('sha256', token, 'buffer');

/**
 * The label a token goes by in audit lines: its kind and the first 8 hex digits of its SHA-256, which an
 * operator computes with `printf %s "$TOKEN" | sha256sum | cut -c1-8`; never the token.
 */
const labelOf = (kind: 'admin' | 'read', tokenDigest: Buffer): string => `${kind}:${tokenDigest.toString('hex').slice(0, 8)}`;

/** Checks a request's token for an access; throws the problem (401, 403) when it may not. */
export type Guard = (req: HttpRequest, res: HttpResponse) => void;

export function createAuthorizer(tokens: AccessTokens): (access: Access) => Guard {
  const known = [
    ...tokens.admin.map((token) => ({ kind: 'admin' as const, digest: digest(token) })),
    ...tokens.read.map((token) => ({ kind: 'read' as const, digest: digest(token) })),
  ].map((entry) => ({ ...entry, label: labelOf(entry.kind, entry.digest) }));
  const open = known.length === 0;
  // Every token is compared, so the time taken does not say which one matched.
  const match = (candidate: Buffer): (typeof known)[number] | undefined =>
    known.reduce<(typeof known)[number] | undefined>((found, entry) => (timingSafeEqual(entry.digest, candidate) && !found ? entry : found), undefined);

  return (access) => (req, res) => {
    if (open) return;
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!token) throw new HttpProblem(problems.unauthorized('Send "Authorization: Bearer <token>".'), CHALLENGE);
    const entry = match(digest(token));
    if (!entry) {
      throw new HttpProblem(problems.unauthorized('The token is not valid.'), { ...CHALLENGE, 'WWW-Authenticate': `${CHALLENGE['WWW-Authenticate']}, error="invalid_token"` });
    }
    res.locals.principal = entry.label;
    if (entry.kind === 'read' && access === 'write') throw new HttpProblem(problems.forbidden('This token may only read.'));
  };
}
