// The alerting rules (ops/prometheus/alerts.yml) as the tests read them: the series each rule selects, and whether a
// set of scraped series holds one it would find; the series of a /metrics answer, and one's value. And a Prometheus of
// Debian's, run as the Compose stack's.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT, freePort } from './process';
import { waitFor } from './wait';

export const ALERTS_FILE = 'ops/prometheus/alerts.yml';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export const alertRules = (file = ALERTS_FILE): AlertRule[] =>
  (parse(readFileSync(path.join(ROOT, file), 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap(
    (group) => group.rules,
  );

interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** A vector selector of a rule: `name{label="value", …}`. */
export interface Selector {
  text: string;
  name: string;
  matchers: Matcher[];
}

/** A scraped series: its name and labels. */
export interface Series {
  name: string;
  labels: Record<string, string>;
}

/** Every vector selector in a PromQL expression (the rules write each with braces). */
export function selectorsOf(expr: string): Selector[] {
  return [...expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)].map(([text, name, body]) => ({
    text: text.replace(/\s+/g, ' '),
    name: name!,
    matchers: [...body!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(([, label, op, value]) => ({
      label: label!,
      op: op as Matcher['op'],
      value: value!,
    })),
  }));
}

/**
 * True when `series` holds one the selector would find, for the labels `ignoring` aside (those Prometheus attaches).
 * A positive regular expression asks only that the label exist: it picks the series a fault makes (`status=~"5.."`),
 * which a healthy service has not made yet.
 */
export function finds(selector: Selector, series: readonly Series[], ignoring: readonly string[] = []): boolean {
  return series.some(
    ({ name, labels }) =>
      name === selector.name &&
      selector.matchers.every(({ label, op, value }) => {
        if (ignoring.includes(label)) return true;
        const actual = labels[label];
        const matches = new RegExp(`^(?:${value})$`).test(actual ?? '');
        return op === '='
          ? actual === value
          : op === '!='
            ? actual !== value
            : op === '=~'
              ? actual !== undefined
              : !matches;
      }),
  );
}

/** A series of a text exposition, with its value. */
export interface Sample extends Series {
  value: number;
}

/** The series of a Prometheus text exposition, each with its value. */
export function exposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const { name, body, value } = /^(?<name>[a-zA-Z_:][\w:]*)(?:\{(?<body>.*)\})? (?<value>\S+)$/.exec(line)!.groups!;
      const labels = Object.fromEntries(
        [...(body ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, label, value]) => [label!, value!]),
      );
      return { name: name!, labels, value: Number(value) };
    });
}

/** The value of the series `name` with (at least) `labels` in a text exposition; undefined when there is none. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return exposition(text).find(
    (series) =>
      series.name === name && Object.entries(labels).every(([label, value]) => series.labels[label] === value),
  )?.value;
}

export const PROMETHEUS = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
export const PROMTOOL = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

export interface RunningPrometheus {
  url: string;
  /** GET on its HTTP API: the `data` of the answer. */
  api: <T>(pathAndQuery: string) => Promise<T>;
  stop: () => Promise<void>;
}

/**
 * Runs Prometheus on 127.0.0.1 with `config` (prometheus.yml's text) and `files` beside it (name → text), with a data
 * directory of its own, removed when it stops.
 */
export async function startPrometheus(config: string, files: Record<string, string>): Promise<RunningPrometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'prometheus-'));
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4_000)));
  // A process that could not start at all emits 'error' and no 'exit'.
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    const over = (): void => {
      gone = true;
      resolve();
    };
    child.once('exit', over);
    child.once('error', (error) => {
      log += String(error);
      over();
    });
  });
  const stop = async (): Promise<void> => {
    if (!gone) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const answer = await fetch(`${url}/api/v1/${pathAndQuery}`);
    const body = (await answer.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus: ${pathAndQuery}: ${body.error}`);
    return body.data;
  };
  try {
    await waitFor(
      'Prometheus to be ready',
      async () => {
        if (gone) throw new Error(`Prometheus exited: ${log}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200;
      },
      20_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, api, stop };
}
