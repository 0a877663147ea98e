// The last copy of each record this replica served, for stale-if-error: while the store is down, a read
// of a record served less than `maxAgeMs` ago is answered from that copy (and says so) instead of a 503.
// Bounded: at most `maxEntries` copies, the least recently served go first.
export const STALE_COPIES = Symbol.for('StaleCopies');

export interface Served<T> {
  value: T;
  /** Set when the value is a copy kept from an earlier read, because the store did not answer: its age. */
  staleForMs?: number;
}

export class StaleCopies {
  private readonly copies = new Map<string, { value: unknown; at: number }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly maxEntries = 1_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  remember(key: string, value: unknown): void {
    if (this.maxAgeMs === 0) return;
    const known = this.copies.get(key);
    if (known !== undefined && known.value === value) {
      // The same record served again (the hot path): only its time moves.
      known.at = this.now();
      return;
    }
    this.copies.delete(key);
    this.copies.set(key, { value, at: this.now() });
    if (this.copies.size > this.maxEntries) this.copies.delete(this.copies.keys().next().value!);
  }

  forget(key: string): void {
    this.copies.delete(key);
  }

  recall<T>(key: string): Served<T> | undefined {
    const copy = this.copies.get(key);
    if (!copy) return undefined;
    const ageMs = this.now() - copy.at;
    return ageMs <= this.maxAgeMs ? { value: copy.value as T, staleForMs: ageMs } : undefined;
  }
}

export const LIST_COPY = '\u0000list';
