// Who may call a route, checked the same way on both HTTP paths (route-table.ts runs it for every declared
// operation): the Host first (DNS rebinding), then the bearer token. Admin tokens read and write, read tokens
// only read, gateway tokens read and write on behalf of the person the gateway signed in (X-Forwarded-User,
// believed from a gateway only). No tokens at all means open.
import { hash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { HttpProblem, problems } from './problem';
import { ConnectionSlot, type HttpRequest, type HttpResponse } from './request-context';

export interface AccessTokens {
  admin: readonly string[];
  read: readonly string[];
  /** Tokens of gateways that sign people in and name them in X-Forwarded-User. */
  gateway: readonly string[];
}

/** Who may call an operation: anyone (probes, docs), a reader, a writer. */
export type Access = 'open' | 'read' | 'write';

/** Who called, for the audit: never a token, only its label. */
export interface Principal {
  /** The person a gateway signed in, else the token's label, else `open`. */
  actor: string;
  /** The token's label (`admin:1a2b3c4d`), or `open`. */
  tokenLabel: string;
  /** The client's address: from the gateway's X-Real-IP for a gateway's request, else the connection's. */
  clientAddress: string;
}

/** The header a gateway names the signed-in person in (oauth2-proxy and nginx's auth_request setups use it). */
export const USER_HEADER = 'x-forwarded-user';
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="integrations-service"' };
// A name a gateway passes on: printable, one line, bounded.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const USER_NAME = /^[^\x00-\x1f\x7f]{1,256}$/;

// Comparing digests keeps the comparison constant-time whatever the tokens' lengths.
// One-shot hashing (crypto.hash, Node >= 20.12): no Hash object per request.
const digest = (token: string): Buffer => hash('sha256', token, 'buffer');

type Kind = 'admin' | 'read' | 'gateway';

/**
 * The label a token goes by in audit lines: its kind and the first 8 hex digits of its SHA-256, which an
 * operator computes with `printf %s "$TOKEN" | sha256sum | cut -c1-8`; never the token.
 */
const labelOf = (kind: Kind, tokenDigest: Buffer): string => `${kind}:${tokenDigest.toString('hex').slice(0, 8)}`;

/** Checks a request for an access; throws the problem (421, 401, 403) when it may not go on. */
export type Guard = (req: HttpRequest, res: HttpResponse) => void;

/**
 * Host names this service answers to, as ALLOWED_HOSTS lists them: `name`, `name:port`, `*.domain` (its
 * subdomains), `[::1]:8090`. A name without a port allows any port.
 */
export function hostMatcher(allowed: readonly string[]): (host: string | undefined) => boolean {
  const entries = allowed.map((entry) => splitHost(entry.toLowerCase()));
  const known = new Map<string, boolean>();
  return (host) => {
    if (host === undefined) return false;
    let answer = known.get(host);
    if (answer === undefined) {
      const { name, port } = splitHost(host.toLowerCase());
      answer = entries.some(
        (entry) =>
          (entry.port === undefined || entry.port === port) &&
          (entry.name.startsWith('*.') ? name.endsWith(entry.name.slice(1)) : entry.name === name),
      );
      // Bounded: a client sending ever new Host values does not grow it.
      if (known.size < 256) known.set(host, answer);
    }
    return answer;
  };
}

function splitHost(host: string): { name: string; port?: string } {
  const bracket = /^(\[[^\]]*\])(?::(\d+))?$/.exec(host);
  if (bracket) return { name: bracket[1]!, port: bracket[2] };
  const colon = host.lastIndexOf(':');
  return colon < 0 ? { name: host } : { name: host.slice(0, colon), port: host.slice(colon + 1) };
}

interface KnownToken {
  kind: Kind;
  digest: Buffer;
  label: string;
}

/**
 * What a connection's last accepted Authorization header was found to be, so the same header on the same keep-alive
 * connection (the bot runtime's, a gateway's pool) is not hashed and compared again. The header is compared with
 * the one this same connection sent before, never with a token.
 */
interface Verdict {
  authorization: string;
  entry: KnownToken;
  /** For a token that names no person: the principal, the same for every request of the connection. */
  principal?: Principal;
}

export function createAuthorizer(tokens: AccessTokens, allowedHosts: readonly string[]): (access: Access) => Guard {
  const known: KnownToken[] = (
    [
      ...tokens.admin.map((token) => ['admin', token]),
      ...tokens.read.map((token) => ['read', token]),
      ...tokens.gateway.map((token) => ['gateway', token]),
    ] as [Kind, string][]
  ).map(([kind, token]) => ({ kind, digest: digest(token), label: labelOf(kind, digest(token)) }));
  const open = known.length === 0;
  const hostAllowed = hostMatcher(allowedHosts);
  const verdicts = new ConnectionSlot<Verdict>('authorization verdict');
  const openPrincipals = new ConnectionSlot<Principal>('open principal');
  // Every token is compared, so the time taken does not say which one matched.
  const match = (candidate: Buffer): KnownToken | undefined =>
    known.reduce<KnownToken | undefined>(
      (found, entry) => (timingSafeEqual(entry.digest, candidate) && !found ? entry : found),
      undefined,
    );

  /** The token a request's header names, checked once per connection and header. */
  const tokenOf = (req: HttpRequest, header: string): Verdict => {
    const socket = req.socket;
    const previous = verdicts.get(socket);
    if (previous !== undefined && previous.authorization === header) return previous;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!token) throw new HttpProblem(problems.unauthorized('Send "Authorization: Bearer <token>".'), CHALLENGE);
    const entry = match(digest(token));
    if (!entry) {
      throw new HttpProblem(problems.unauthorized('The token is not valid.'), {
        ...CHALLENGE,
        'WWW-Authenticate': `${CHALLENGE['WWW-Authenticate']}, error="invalid_token"`,
      });
    }
    const verdict: Verdict = {
      authorization: header,
      entry,
      ...(entry.kind === 'gateway'
        ? {}
        : {
            principal: {
              actor: entry.label,
              tokenLabel: entry.label,
              clientAddress: socket.remoteAddress ?? 'unknown',
            },
          }),
    };
    verdicts.set(socket, verdict);
    return verdict;
  };

  return (access) => (req, res) => {
    if (access === 'open') return;
    // Before anything else: a page on another site that rebinds its name to this address gets nothing.
    const host = requestHost(req);
    if (!hostAllowed(host)) {
      throw new HttpProblem(
        problems.misdirected(`This service does not answer to the host "${host ?? ''}"; see ALLOWED_HOSTS.`),
      );
    }
    if (open) {
      let principal = openPrincipals.get(req.socket);
      if (principal === undefined) {
        principal = { actor: 'open', tokenLabel: 'open', clientAddress: req.socket.remoteAddress ?? 'unknown' };
        openPrincipals.set(req.socket, principal);
      }
      res.locals.principal = principal;
      return;
    }
    const { entry, principal } = tokenOf(req, req.headers.authorization ?? '');
    if (entry.kind === 'gateway') {
      const realIp = req.headers['x-real-ip'];
      const clientAddress =
        typeof realIp === 'string' && isIP(realIp) !== 0 ? realIp : (req.socket.remoteAddress ?? 'unknown');
      res.locals.principal = { actor: personNamed(req), tokenLabel: entry.label, clientAddress } satisfies Principal;
    } else {
      if (req.headers[USER_HEADER] !== undefined)
        throw new HttpProblem(problems.forbidden('Only a gateway token may name a person (X-Forwarded-User).'));
      res.locals.principal = principal;
    }
    if (entry.kind === 'read' && access === 'write')
      throw new HttpProblem(problems.forbidden('This token may only read.'));
  };
}

// A target in absolute form, as a client sends it to a proxy (`GET http://host:port/path`): its authority. One that
// names a user (`user@host`, which HTTP has no use for) does not match.
const ABSOLUTE_TARGET = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*)(?:[/?#]|$)/i;

/**
 * The host a request is for, as RFC 9112 §3.2 reads it: the authority of a target in absolute form (its Host header
 * is then ignored), else its Host header; undefined for any other target. Two Host headers (Node keeps the first) are
 * refused, 400, as the RFC requires of a server: the one checked might not be the one a proxy on the way went by.
 */
function requestHost(req: HttpRequest): string | undefined {
  const target = req.url ?? '';
  if (target.charCodeAt(0) !== SLASH) return ABSOLUTE_TARGET.exec(target)?.[1];
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts += 1;
  }
  if (hosts > 1) throw new HttpProblem(problems.badRequest('The request has more than one Host header.'));
  return req.headers.host;
}

const SLASH = 0x2f;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The one person a gateway's request names. Node reads header bytes as latin1; a gateway sends a name as UTF-8
 * (nginx passes $remote_user's bytes as they came), so `élodie` is decoded back from its bytes. Two headers
 * (Node would join them: "alice, bob") or bytes that are not UTF-8 name nobody: refused.
 */
function personNamed(req: HttpRequest): string {
  const given = req.headersDistinct[USER_HEADER] ?? [];
  let name: string | undefined;
  try {
    name = given.length === 1 ? utf8.decode(Buffer.from(given[0]!, 'latin1')) : undefined;
  } catch {
    name = undefined;
  }
  if (name === undefined || !USER_NAME.test(name)) {
    throw new HttpProblem(
      problems.forbidden(
        'A gateway token acts on behalf of one signed-in person: the gateway must name them, once, in ' +
          'X-Forwarded-User (UTF-8).',
      ),
    );
  }
  return name;
}
