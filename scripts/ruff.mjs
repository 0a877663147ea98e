// The repository's Python (the client the chatbot adopts as app/admin/integrations/client.py, the patch script, the
// bench's clients) held to what the chatbot's pre-commit hooks ask of its Python: `ruff format` and `ruff check` with
// Ruff's defaults. Ruff runs here from npm, as its WebAssembly build; its version is pinned to one that formats
// every Python file of the chatbot at 5f57f99 exactly as it is committed.
// `node scripts/ruff.mjs [file…]`: says which of the repository's Python files (or the files named) differ or break a
// rule, exit 1 if any. `--write`: formats them.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Workspace } from '@astral-sh/ruff-wasm-nodejs';

// Not the repository's own: installed, built, Python's caches and virtual environments (and git's folder: any folder
// whose name starts with a dot is passed over).
const NOT_OURS = new Set(['node_modules', 'dist', 'coverage', '__pycache__', 'venv']);

/** The Python files under `dir`, found on disk (a download without git's history is checked as a clone is). */
function pythonFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return NOT_OURS.has(entry.name) || entry.name.startsWith('.') ? [] : pythonFiles(full);
    return entry.isFile() && entry.name.endsWith('.py') ? [path.relative('.', full)] : [];
  });
}

const args = process.argv.slice(2);
const write = args.includes('--write');
const named = args.filter((arg) => arg !== '--write');
// Without names, the repository's files, wherever the script is run from.
if (named.length === 0) process.chdir(fileURLToPath(new URL('..', import.meta.url)));
const files = named.length > 0 ? named : pythonFiles('.').sort();

// Ruff's WebAssembly build logs the globs of its settings as it starts (console.log): not this script's output.
const log = console.log;
console.log = () => {};
const ruff = new Workspace(Workspace.defaultSettings());
console.log = log;

let problems = 0;
for (const file of files) {
  const source = readFileSync(file, 'utf8');
  let formatted;
  try {
    formatted = ruff.format(source);
  } catch (error) {
    problems += 1;
    console.log(`${file}: not Python that Ruff can parse: ${error instanceof Error ? error.message : error}`);
    continue;
  }
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
