// Dependencies point inward: domain imports nothing outside itself, application only domain (and
// inversify's decorators), adapters never infrastructure.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const SRC = path.resolve(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g,
    ),
  ].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** The layer a file or a relative import lands in, or the package name of a bare import. */
function target(file: string, specifier: string): { layer?: string; pkg?: string } {
  if (!specifier.startsWith('.'))
    return {
      pkg: specifier.startsWith('node:')
        ? 'node'
        : specifier
            .split('/')
            .slice(0, specifier.startsWith('@') ? 2 : 1)
            .join('/'),
    };
  const resolved = path.relative(SRC, path.resolve(path.dirname(file), specifier));
  return { layer: resolved.split(path.sep)[0] };
}

const RULES: Record<string, { layers: string[]; packages: string[] | 'any' }> = {
  domain: { layers: ['domain'], packages: [] },
  application: { layers: ['domain', 'application'], packages: ['inversify'] },
  adapters: { layers: ['domain', 'application', 'adapters'], packages: 'any' },
  infrastructure: { layers: ['domain', 'application', 'adapters', 'infrastructure'], packages: 'any' },
};

describe('architecture: the dependency rule', () => {
  const files = sourceFiles(SRC);

  it('finds the source files of every layer', () => {
    for (const layer of Object.keys(RULES))
      expect(
        files.some((f) => path.relative(SRC, f).startsWith(`${layer}${path.sep}`)),
        layer,
      ).to.equal(true);
  });

  for (const [layer, rule] of Object.entries(RULES)) {
    it(
      `${layer} imports only ` +
        `${rule.layers.join(', ')}${rule.packages === 'any' ? ' and packages' : rule.packages.length ? ` and ${rule.packages.join(', ')}` : ''}`,
      () => {
        const offences: string[] = [];
        for (const file of files.filter((f) => path.relative(SRC, f).startsWith(`${layer}${path.sep}`))) {
          for (const specifier of importsOf(file)) {
            const { layer: to, pkg } = target(file, specifier);
            if (to !== undefined && !rule.layers.includes(to))
              offences.push(`${path.relative(SRC, file)} -> ${specifier}`);
            if (pkg !== undefined && rule.packages !== 'any' && !rule.packages.includes(pkg))
              offences.push(`${path.relative(SRC, file)} -> ${specifier}`);
          }
        }
        expect(offences).to.deep.equal([]);
      },
    );
  }

  it('only the MongoDB adapter (adapters/persistence/mongo) imports the MongoDB driver', () => {
    const offences = sourceFiles(SRC)
      .filter((file) => !path.relative(SRC, file).startsWith(path.join('adapters', 'persistence', 'mongo') + path.sep))
      .filter((file) =>
        importsOf(file).some(
          (specifier) => specifier === 'mongodb' || specifier.startsWith('mongodb-connection-string-url'),
        ),
      )
      .map((file) => path.relative(SRC, file));
    expect(offences).to.deep.equal([]);
  });

  it('the rule itself catches an offence (so a green run means something)', () => {
    const file = path.join(SRC, 'domain', 'x.ts');
    expect(target(file, '../infrastructure/config')).to.deep.equal({ layer: 'infrastructure' });
    expect(target(file, 'express')).to.deep.equal({ pkg: 'express' });
    expect(target(file, 'node:crypto')).to.deep.equal({ pkg: 'node' });
  });
});
