// The repository's Python (the client the chatbot adopts as app/admin/integrations/client.py, the patch script, the
// bench's clients) held to what the chatbot's pre-commit hooks ask of its Python: `ruff format` and `ruff check` with
// Ruff's defaults. Ruff runs here from npm, as its WebAssembly build; its version is pinned to one that formats
// every Python file of the chatbot at 5f57f99 exactly as it is committed.
// `node scripts/ruff.mjs [file…]`: says which of the repository's Python files (or the files named) differ or break a
// rule, exit 1 if any. `--write`: formats them.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Workspace } from '@astral-sh/ruff-wasm-nodejs';

const args = process.argv.slice(2);
const write = args.includes('--write');
const named = args.filter((arg) => arg !== '--write');
const files =
  named.length > 0
    ? named
    : execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.py'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);

// Ruff's WebAssembly build logs the globs of its settings as it starts (console.log): not this script's output.
const log = console.log;
console.log = () => {};
const ruff = new Workspace(Workspace.defaultSettings());
console.log = log;

let problems = 0;
for (const file of files) {
  const source = readFileSync(file, 'utf8');
  const formatted = ruff.format(source);
  if (formatted !== source) {
    if (write) {
      writeFileSync(file, formatted);
      console.log(`${file}: formatted`);
    } else {
      problems += 1;
      console.log(`${file}: not as \`ruff format\` writes it (npm run format)`);
    }
  }
  for (const { code, message, start_location: at } of ruff.check(write ? formatted : source)) {
    problems += 1;
    console.log(`${file}:${at.row}:${at.column}: ${code ?? 'syntax'} ${message}`);
  }
}
if (problems > 0) {
  console.log(`ruff ${Workspace.version()}: ${problems} problem(s) in ${files.length} Python files`);
  process.exit(1);
}
