// If-Match and If-None-Match as RFC 9110 writes them, parsed in time linear in the header's length: a client's
// header must not hold up the event loop (every other request waits while it is parsed).
import { expect } from 'chai';
import { parseEntityTags } from '../../src/adapters/http/etag';

describe('entity tag lists (If-Match, If-None-Match)', () => {
  it('reads tags with whitespace around the commas, weak and strong, and refuses what is not a list of tags', () => {
    expect(parseEntityTags(' "1" ,\tW/"2",, "3" ')).to.deep.equal([
      { tag: '1', weak: false },
      { tag: '2', weak: true },
      { tag: '3', weak: false },
    ]);
    expect(parseEntityTags('*')).to.equal('*');
    for (const bad of ['1', '"1" "2"', '"1",   x', 'W/', ',', ''])
      expect(parseEntityTags(bad), JSON.stringify(bad)).to.equal(null);
  });

  it('takes time linear in the length of a malformed list padded with whitespace', () => {
    // CPU time, not the clock's (the processes running beside this one take the cores, not this process's work), the
    // least of seven runs of each, the two lengths taken in turn.
    const cpuOf = (header: string): number => {
      const started = process.cpuUsage();
      for (let i = 0; i < 20; i += 1) expect(parseEntityTags(header)).to.equal(null);
      const used = process.cpuUsage(started);
      return used.user + used.system;
    };
    const padded = (spaces: number): string => `"1",${' '.repeat(spaces)}x`;
    cpuOf(padded(1_580)); // warm-up
    let short = Number.POSITIVE_INFINITY;
    let long = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 7; run += 1) {
      short = Math.min(short, cpuOf(padded(1_580)));
      long = Math.min(long, cpuOf(padded(15_800)));
    }
    const ratio = long / short;
    // Ten times the input: about ten times the time when linear, about a hundred when quadratic.
    expect(ratio).to.be.below(40);
  });
});
