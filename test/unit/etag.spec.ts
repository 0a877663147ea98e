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
    // The fastest of five runs of each: the other tests running beside this one only ever slow a run down.
    const timeOf = (spaces: number): number => {
      const header = `"1",${' '.repeat(spaces)}x`;
      let fastest = Number.POSITIVE_INFINITY;
      for (let run = 0; run < 5; run += 1) {
        const started = process.hrtime.bigint();
        for (let i = 0; i < 20; i += 1) expect(parseEntityTags(header)).to.equal(null);
        fastest = Math.min(fastest, Number(process.hrtime.bigint() - started));
      }
      return fastest;
    };
    timeOf(1_580); // warm-up
    const ratio = timeOf(15_800) / timeOf(1_580);
    // Ten times the input: about ten times the time when linear, about a hundred when quadratic.
    expect(ratio).to.be.below(40);
  });
});
