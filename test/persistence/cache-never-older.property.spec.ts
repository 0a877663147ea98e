// The read cache's promise to the bot runtime, as a property: whatever order the store's replies, its change
// events and the feed's state changes arrive in, no read (from memory, from the store, or the stale-if-error
// copy offered when the store does not answer) returns a record older than a write this replica saw
// acknowledged before the read began. fast-check's scheduler picks the interleavings (seeded, so a failure
// replays) over a scripted store whose every step (a read served, a write applied, a reply, an event) is a
// separate scheduled task.
import { expect } from 'chai';
import fc from 'fast-check';
import { CachedIntegrationRepository } from '../../src/adapters/persistence/cached-integration.repository';
import { ChangeListeners } from '../../src/adapters/persistence/change-feed';
import type { InsertMissingResult, IntegrationRepository } from '../../src/application/integration-repository.port';
import { StoreUnavailableError, VersionConflictError } from '../../src/domain/errors';
import type { Integration } from '../../src/domain/integration.entity';
import { T1, theDefaults } from '../support/integration.mother';

const IDS = ['facebook', 'chat_widget'] as const;
type Id = (typeof IDS)[number];
// Most steps touch one record, so writes to it overlap often.
const anId = fc.constantFrom<Id>('facebook', 'facebook', 'facebook', 'chat_widget');

/** A store whose reads are served, writes applied, replies delivered and changes told as scheduled tasks. */
class ScriptedStore implements IntegrationRepository {
  readonly records = new Map<string, Integration>(theDefaults().map((record) => [record.id, record]));
  down = false;

  constructor(
    private readonly s: fc.Scheduler,
    private readonly feed: ChangeListeners,
  ) {}

  private async reply<T>(value: T, label: string): Promise<T> {
    await this.s.schedule(Promise.resolve(), `${label} reply`);
    if (this.down) throw new StoreUnavailableError('no answer');
    return value;
  }

  async findById(id: string): Promise<Integration | null> {
    await this.s.schedule(Promise.resolve(), `read ${id} served`);
    return this.reply(this.records.get(id) ?? null, `read ${id}`);
  }

  async list(): Promise<Integration[]> {
    await this.s.schedule(Promise.resolve(), 'list served');
    return this.reply(
      [...this.records.values()].sort((a, b) => a.id.localeCompare(b.id)),
      'list',
    );
  }

  async replace(next: Integration): Promise<void> {
    await this.s.schedule(Promise.resolve(), `write ${next.id} v${next.version} applied`);
    const applied = this.records.get(next.id)!.version === next.version - 1;
    if (applied) {
      this.records.set(next.id, next);
      void this.s.schedule(Promise.resolve(), `change ${next.id} told`).then(() => this.feed.changed(next.id));
    }
    await this.s.schedule(Promise.resolve(), `write ${next.id} v${next.version} reply`);
    if (!applied) throw new VersionConflictError(next.id);
  }

  insertMissing(): Promise<InsertMissingResult> {
    return Promise.resolve({ created: [], existing: [...IDS] });
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }
}

type Step =
  | { kind: 'write'; id: Id }
  | { kind: 'read'; id: Id; fresh: boolean }
  | { kind: 'held'; id: Id }
  | { kind: 'list' }
  | { kind: 'feed'; to: 'live' | 'lost' | 'changed-all' }
  | { kind: 'store'; down: boolean }
  | { kind: 'clock'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), id: anId }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), id: anId, fresh: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('held' as const), id: anId }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('list' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('feed' as const),
      to: fc.constantFrom('live' as const, 'lost' as const, 'changed-all' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('store' as const), down: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clock' as const), ms: fc.integer({ min: 0, max: 1_500 }) }) },
);

describe('CachedIntegrationRepository under any interleaving (fast-check, seeded)', () => {
  it('never answers a record older than a write this replica saw acknowledged before the read began', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(step, { minLength: 1, maxLength: 30 }), async (s, steps) => {
        const feed = new ChangeListeners('lost');
        const store = new ScriptedStore(s, feed);
        let clock = 0;
        const cache = new CachedIntegrationRepository(store, {
          ttlMs: 1_000,
          staleIfErrorMs: 60_000,
          feed,
          now: () => clock,
        });
        // id → the highest version whose write this replica acknowledged to its caller.
        const acknowledged = new Map<string, number>(IDS.map((id) => [id, 1]));
        const atLeast = (record: Integration | null | undefined, floor: number, what: string): void => {
          if (record) expect(record.version, `${what} of ${record.id}`).to.be.at.least(floor);
        };
        /** Checks a read's answer, or the copy its error offers, against what was acknowledged when it began. */
        const check = async (
          id: string | undefined,
          read: Promise<Integration | Integration[] | null>,
          what: string,
        ): Promise<void> => {
          const floors = new Map(acknowledged);
          const answer = await read.catch((error: unknown) => {
            if (error instanceof StoreUnavailableError)
              return error.lastKnown?.value as Integration | Integration[] | null | undefined;
            throw error;
          });
          for (const record of Array.isArray(answer) ? answer : [answer])
            atLeast(record, floors.get(record?.id ?? id!)!, what);
        };

        // Steps begin in their order, each at a scheduled moment, and run concurrently from there.
        let begun: Promise<unknown> = Promise.resolve();
        const runs = steps.map(async (todo, i) => {
          const turn = begun.then(() => s.schedule(Promise.resolve(), `step ${i}`));
          begun = turn;
          await turn;
          switch (todo.kind) {
            case 'write': {
              // A writer edits the record as it is in the store now; a conflict is refused, not acknowledged.
              const next = store.records.get(todo.id)!.change({ description: `edit ${i}` }, T1);
              try {
                await cache.replace(next);
                acknowledged.set(todo.id, Math.max(acknowledged.get(todo.id)!, next.version));
              } catch (error) {
                if (!(error instanceof VersionConflictError) && !(error instanceof StoreUnavailableError)) throw error;
              }
              return;
            }
            case 'read':
              return check(todo.id, cache.findById(todo.id, { fresh: todo.fresh }), 'a read');
            case 'held':
              return atLeast(cache.held(todo.id), acknowledged.get(todo.id)!, 'the copy held for an answer at once');
            case 'list':
              return check(undefined, cache.list(), 'a list');
            case 'feed':
              if (todo.to === 'changed-all') feed.changed();
              else feed[todo.to]();
              return;
            case 'store':
              store.down = todo.down;
              return;
            case 'clock':
              clock += todo.ms;
              return;
          }
        });
        await s.waitIdle();
        await Promise.all(runs);
      }),
      { seed: 20261205, numRuns: 1000 },
    );
  });
});
