// Keeps credentials out of logs: by key anywhere in a structure, and by pattern inside any string.

export const REDACTED = '[REDACTED]';

// Keys whose values are never written, at any depth: the facebook credentials, HTTP auth, tokens, keys.
const SECRET_KEYS = [
  ...['secret', 'page_access_token', 'authorization', 'password', 'passwd', 'pwd', 'token', 'tokens', 'access_token'],
  ...['admin_tokens', 'read_tokens', 'encryption_key', 'encryption_key_previous', 'cookie', 'set-cookie'],
];
const SECRET_KEY = new RegExp(`^(${SECRET_KEYS.join('|')})$`, 'i');

const STRING_PATTERNS: [RegExp, string][] = [
  // user:password@ in a connection string
  [/(mongodb(?:\+srv)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, `$1${REDACTED}@`],
  // a credential quoted in JSON text, e.g. an error message that echoes a body
  [/("(?:secret|page_access_token|authorization|password|token)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, `$1"${REDACTED}"`],
  [/\b(Bearer\s+)[^\s",]+/gi, `$1${REDACTED}`],
];

// Every pattern above needs one of these in the text: most strings (ids, routes, paths) are let through
// after this one test instead of three replacements.
const MIGHT_HOLD_A_SECRET = /mongodb|"|bearer/i;

export function redactString(value: string): string {
  if (!MIGHT_HOLD_A_SECRET.test(value)) return value;
  return STRING_PATTERNS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), value);
}

// Field names are the code's own (never a client's), so the answer per name is remembered; bounded anyway.
const secretKeys = new Map<string, boolean>();
export function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (secretKeys.size < 1_000) secretKeys.set(key, secret);
  }
  return secret;
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 10) return '[…]';
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = redactField(key, child, depth + 1);
  return out;
}

/** A field's value as a log may show it: never under a secret key's name, else redacted all the way down. */
export function redactField(key: string, value: unknown, depth = 1): unknown {
  return isSecretKey(key) ? REDACTED : redact(value, depth);
}
