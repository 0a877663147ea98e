// Entity tags from record versions, and the If-Match / If-None-Match comparisons of RFC 9110.

export function etagOf(version: number): string {
  return `"${version}"`;
}

/** The entity tags of a conditional header: '*' alone, or a list of (possibly weak) quoted tags. */
export function parseEntityTags(header: string): '*' | { tag: string; weak: boolean }[] {
  if (header.trim() === '*') return '*';
  const tags: { tag: string; weak: boolean }[] = [];
  for (const match of header.matchAll(/(W\/)?"([^"]*)"/g)) tags.push({ tag: match[2], weak: match[1] !== undefined });
  return tags;
}

/**
 * The versions an If-Match header accepts (strong comparison: a weak tag never matches).
 * Undefined when any version will do (no header, or '*').
 */
export function ifMatchVersions(header: string | undefined): number[] | undefined {
  if (header === undefined) return undefined;
  const tags = parseEntityTags(header);
  if (tags === '*') return undefined;
  // A tag this service never issued matches nothing; -1 is a version no record has.
  return tags.map(({ tag, weak }) => (!weak && /^\d{1,15}$/.test(tag) ? Number(tag) : -1));
}

/** If-None-Match uses weak comparison: W/"3" matches "3". */
export function noneMatch(header: string | undefined, version: number): boolean {
  if (header === undefined) return true;
  const tags = parseEntityTags(header);
  if (tags === '*') return false;
  return !tags.some(({ tag }) => tag === String(version));
}
