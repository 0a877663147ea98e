// `npm test` lists its spec folders in an order (the slowest first, so the two mocha jobs finish together):
// a spec file in a folder it does not list would never run. This keeps the list and the files in step.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const ROOT = path.resolve(__dirname, '../..');

function specFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory()
      ? specFiles(full)
      : full.endsWith('.spec.ts')
        ? [path.relative(ROOT, full)]
        : [];
  });
}

describe('npm test', () => {
  it('runs every spec file under test/, each once', () => {
    const script = (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts.test!;
    const folders = [...script.matchAll(/["']test\/([^"']+)\/\*\*\/\*\.spec\.ts["']/g)].map((m) => m[1]!);
    expect(folders.length, 'the test script lists its spec folders').to.be.greaterThan(0);
    const uncovered = specFiles(path.join(ROOT, 'test')).filter(
      (file) => folders.filter((folder) => file.startsWith(`test/${folder}/`)).length !== 1,
    );
    expect(uncovered, 'spec files npm test would not run, or would run twice').to.deep.equal([]);
  });
});
