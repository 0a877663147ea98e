// The one wording of every broken rule. The domain's own checks and the HTTP edge's schema errors both
// speak through these, so a field error reads the same whichever caught it.

export const messages = {
  required: 'is required',
  unknownField: 'is not a known field',
  type: (type: string): string => `must be ${type}`,
  length: (min: number | undefined, max: number | undefined): string =>
    min !== undefined && min > 0 ? `must be ${min}-${max} characters long` : `must be at most ${max} characters long`,
  idShape: (maxLength: number): string => `must be a lowercase slug of 1-${maxLength} characters ([a-z0-9][a-z0-9_-]*)`,
  idMismatch: (pathId: string): string => `must equal the id in the path ("${pathId}"); an id never changes`,
  notASetting: (integrationId: string, allowed: readonly string[]): string =>
    `is not a ${integrationId} setting (allowed: ${allowed.join(', ')})`,
  keyStartsWithDollar: "key must not start with '$'",
  keyContainsDot: "key must not contain '.'",
  keyContainsNul: 'key must not contain the NUL character',
  keyReserved: (key: string): string => `key "${key}" is reserved`,
  tooDeep: (maxDepth: number): string => `must not nest deeper than ${maxDepth} levels`,
  tooLarge: (maxBytes: number, bytes: number): string => `must not exceed ${maxBytes} bytes serialized (got ${bytes})`,
} as const;
