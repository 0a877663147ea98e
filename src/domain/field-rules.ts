// The kinds of rule a field obeys. Each kind carries, together, its check (in the domain's words), its
// JSON-Schema form and how a legacy value is made to fit it: the entity checks with the first, the HTTP
// edge validates with the second and reports in the words of the first, the migrations fit with the third.
// A new kind of rule is one function here; nothing else needs to learn it.
import type { FieldError } from './errors';

export type JsonSchema = Record<string, unknown>;

/** What a legacy value became to fit a rule: the value kept, and what had to go (undefined: nothing). */
export interface Fitted<T> {
  value: T;
  setAside?: unknown;
  /** What was done, in words: names, never values. */
  note?: string;
}

export interface FieldRule<T = unknown> {
  /** Every way `value` breaks the rule, for the record `id`; `at` is the field's JSON Pointer. */
  violations(value: unknown, at: string, id: string): FieldError[];
  /** The rule as JSON Schema 2020-12, for the record `id` (undefined: any record). */
  schema(id?: string): JsonSchema;
  /** A value that breaks the rule (a record the old store wrote), made to fit, given the field's fallback. */
  fit(value: unknown, id: string, fallback: T): Fitted<T>;
  /** Only carries the value's type. */
  readonly valueType?: T;
}

/** The wording every kind shares. */
export const wording = {
  required: 'is required',
  unknownField: 'is not a known field',
  type: (type: string): string => `must be ${type}`,
  idMismatch: (pathId: string): string => `must equal the id in the path ("${pathId}"); an id never changes`,
  notWellFormed: 'must be well-formed Unicode: no half of a surrogate pair alone',
} as const;

/** The usual fit: a value that breaks the rule is set aside whole and the field takes its fallback. */
function setAsideWhole<T>(
  rule: Pick<FieldRule<T>, 'violations'>,
  value: unknown,
  id: string,
  fallback: T,
  what: string,
): Fitted<T> {
  if (rule.violations(value, '', id).length === 0) return { value: value as T };
  return { value: fallback, setAside: value, note: `${what}, set aside` };
}

/**
 * Half of a UTF-16 surrogate pair standing alone: JSON can carry it (as `\ud800`), but no UTF-8 text can, so MongoDB
 * would store U+FFFD in its place and a read would answer other text than the write was acknowledged with.
 */
export const LONE_SURROGATE = /\p{Cs}/u;

/**
 * How many characters `value` holds as JSON Schema's `maxLength`, Python's `len()` (the old store's) and a person
 * count them: code points, a surrogate pair (an emoji, say) one, not two UTF-16 units.
 */
export function characterCount(value: string): number {
  let count = value.length;
  for (let i = 0; i < value.length - 1; i += 1) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count -= 1;
        i += 1;
      }
    }
  }
  return count;
}

/** `value`'s first `length` characters (code points): a surrogate pair is never split. */
function cutAt(value: string, length: number): string {
  return Array.from(value).slice(0, length).join('');
}

export interface TextOptions {
  minLength?: number;
  maxLength: number;
  pattern?: RegExp;
  /** Words every violation as one: `must be <means>` (an id's shape says more than its parts). */
  means?: string;
}

/** A string of bounded length, optionally of a pattern. A legacy string too long is cut to fit. */
export function text({ minLength = 0, maxLength, pattern, means }: TextOptions): FieldRule<string> {
  const length =
    minLength > 0
      ? `must be ${minLength}-${maxLength} characters long`
      : `must be at most ${maxLength} characters long`;
  // The first rule `value` breaks, in the domain's words; undefined when it breaks none.
  const broken = (value: unknown): string | undefined => {
    if (typeof value !== 'string') return wording.type('string');
    const count = characterCount(value);
    if (count < minLength || count > maxLength) return length;
    if (pattern !== undefined && !pattern.test(value)) return `must match ${pattern.source}`;
    if (LONE_SURROGATE.test(value)) return wording.notWellFormed;
    return undefined;
  };
  const rule: FieldRule<string> = {
    violations(value, at) {
      const problem = broken(value);
      return problem === undefined ? [] : [{ field: at, message: means !== undefined ? `must be ${means}` : problem }];
    },
    schema: () => ({
      type: 'string',
      ...(minLength > 0 ? { minLength } : {}),
      maxLength,
      ...(pattern ? { pattern: pattern.source } : {}),
    }),
    fit(value, id, fallback) {
      if (typeof value === 'string') {
        const count = characterCount(value);
        if (count > maxLength) {
          const cut = cutAt(value, maxLength);
          if (rule.violations(cut, '', id).length === 0)
            return { value: cut, setAside: value, note: `cut to ${maxLength} characters` };
        }
        if (count < minLength) return { value: fallback, note: 'empty, now its default' };
      }
      return setAsideWhole(rule, value, id, fallback, typeof value === 'string' ? 'breaks its rule' : 'not a string');
    },
  };
  return rule;
}

/** true or false. */
export function flag(): FieldRule<boolean> {
  const rule: FieldRule<boolean> = {
    violations: (value, at) => (typeof value === 'boolean' ? [] : [{ field: at, message: wording.type('boolean') }]),
    schema: () => ({ type: 'boolean' }),
    fit: (value, id, fallback) => setAsideWhole(rule, value, id, fallback, 'not a boolean'),
  };
  return rule;
}
