// Entity tags from record versions, and the If-Match / If-None-Match headers of RFC 9110, parsed strictly.

export function etagOf(version: number): string {
  return `"${version}"`;
}

export interface EntityTag {
  tag: string;
  weak: boolean;
}

/** A conditional header's value: '*', or a non-empty list of entity tags. */
export type EntityTags = '*' | EntityTag[];

// entity-tag = [ W/ ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3). Whitespace
// after a tag only: two runs of it around an optional tag could split a long run every way (quadratic).
const ELEMENT = /[ \t]*(?:(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)"[ \t]*)?(?:,|$)/y;

/** Parses If-Match or If-None-Match; undefined when the header is absent, null when it is malformed. */
export function parseEntityTags(header: string | undefined): EntityTags | undefined | null {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  ELEMENT.lastIndex = 0;
  while (ELEMENT.lastIndex < header.length) {
    const at = ELEMENT.lastIndex;
    const match = ELEMENT.exec(header);
    if (!match || ELEMENT.lastIndex === at) return null;
    if (match[2] !== undefined) tags.push({ tag: match[2], weak: match[1] !== undefined });
  }
  // An empty list (`If-Match:` with no value, or only commas) names nothing: the client meant something else.
  return tags.length > 0 ? tags : null;
}

/** The version a tag names, only in the exact form this service issues it ("12", never "012" nor "+12"). */
export function versionOf(tag: string): number | undefined {
  return /^[1-9][0-9]{0,14}$/.test(tag) ? Number(tag) : undefined;
}

/** The versions an If-Match list names: strong comparison, so a weak tag names none. */
export function strongVersions(tags: EntityTag[]): number[] {
  return versionsOf(tags.filter(({ weak }) => !weak));
}

/** The versions an If-None-Match list names: weak comparison, so W/"3" names version 3. */
export function weakVersions(tags: EntityTag[]): number[] {
  return versionsOf(tags);
}

function versionsOf(tags: EntityTag[]): number[] {
  return tags.map(({ tag }) => versionOf(tag)).filter((version) => version !== undefined);
}
