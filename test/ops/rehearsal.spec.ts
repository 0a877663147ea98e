// Each deployment form rehearsed as an operator deploys it: rendered (Kubernetes by kustomize, the Compose files
// with their variables, the patched chatbot's compose service, the ECS task's environment from the example's
// variables), checked against the service (every host a client is sent to is one it answers, every variable one
// it reads, probes and ports that exist, images pinned), then run here with exactly that environment — secrets
// made fresh, MongoDB a wire double, the port the test's — and sent what its clients send: the bot runtime by the
// service's name, the gateway with its token and the signed-in person, the Ingress's or load balancer's host
// name, the probes.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { hostMatcher } from '../../src/adapters/http/auth';
import { ENV_VARIABLES } from '../../src/infrastructure/config';
import { ROOT } from '../support/process';
import {
  PROMETHEUS,
  type Series,
  alertRules,
  exposition,
  finds,
  selectorsOf,
  startPrometheus,
} from '../support/prometheus';
import { startService } from '../support/service';
import { waitFor } from '../support/wait';
import { liveChangeStream, replicaSetPrimaryHello, startWireDouble, statefulStore } from '../support/wire-double';

type Manifest = Record<string, any>;

/**
 * Runs `use` against the service started with exactly `env` — but its ports (free ones: the API's, and the probe
 * port's when `env` sets one) and MONGODB_URI: a wire double of the primary of a one-member replica set, its
 * migrations applied and its change stream live, reached by the set's name as in production (the names a form gives
 * MongoDB do not resolve here). `mongoGoesAway` closes it: every connection cut, every new one refused.
 */
async function runWith(
  env: Record<string, string>,
  use: (
    url: string,
    probesUrl: string | undefined,
    mongoGoesAway: () => Promise<void>,
    logs: () => Record<string, unknown>[],
  ) => Promise<void>,
): Promise<void> {
  let host = '';
  const store = statefulStore(() => replicaSetPrimaryHello(host));
  const double = await startWireDouble(
    (command, document) => liveChangeStream(command, document) ?? store.script(command, document),
  );
  host = new URL(double.uri).host;
  const ports = env.PROBE_PORT === undefined ? { PORT: '0' } : { PORT: '0', PROBE_PORT: '0' };
  const running = await startService({ ...env, ...ports, MONGODB_URI: `mongodb://${host}/?replicaSet=rs0` });
  try {
    await use(
      running.url,
      running.probesUrl,
      () => double.close(),
      () => running.logs(),
    );
  } finally {
    await running.stop();
    await double.close();
  }
}

const KUBECTL = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const docs = (text: string): Manifest[] => parseAllDocuments(text).map((doc) => doc.toJS() as Manifest);

(KUBECTL ? describe : describe.skip)('Kubernetes as deployed: kubectl kustomize ops/k8s, then run', function () {
  this.timeout(20_000);
  let rendered: Manifest[];
  let ingress: Manifest;
  const kind = (name: string): Manifest => rendered.find((doc) => doc.kind === name)!;

  before(() => {
    const build = spawnSync('kubectl', ['kustomize', path.join(ROOT, 'ops/k8s')], { encoding: 'utf8' });
    expect(build.status, build.stderr).to.equal(0);
    rendered = docs(build.stdout);
    ingress = docs(readFileSync(path.join(ROOT, 'ops/k8s/ingress.example.yaml'), 'utf8'))[0]!;
  });

  it('answers every host a client is sent to: the Service by its names, the Ingress by its host', () => {
    const answers = hostMatcher(kind('ConfigMap').data.ALLOWED_HOSTS.split(','));
    const service = kind('Service').metadata.name;
    for (const host of [
      service,
      `${service}.chatbot.svc.cluster.local`,
      ...ingress.spec.rules.map((r: Manifest) => r.host),
    ]) {
      expect(answers(host), host).to.equal(true);
    }
  });

  it('publishes through the Ingress only the API: not /metrics, /docs, nor the probes', () => {
    const paths = ingress.spec.rules.flatMap((rule: Manifest) => rule.http.paths.map((p: Manifest) => p.path));
    expect(paths).to.have.members(['/integrations', '/admin/integrations']);
  });

  it('reads only variables the service knows, and pins every image to a version', () => {
    for (const name of Object.keys(kind('ConfigMap').data)) expect(ENV_VARIABLES, name).to.include(name);
    const jobs = ['migrate-job.yaml', 'reseal-job.yaml'].flatMap((file) =>
      docs(readFileSync(path.join(ROOT, 'ops/k8s', file), 'utf8')),
    );
    const images = [...rendered, ...jobs].flatMap(
      (doc) => doc.spec?.template?.spec?.containers?.map((c: Manifest) => c.image as string) ?? [],
    );
    expect(images.length).to.be.at.least(3);
    for (const image of images) expect(image, image).to.match(/:\d+\.\d+\.\d+$/);
  });

  it("runs with exactly the ConfigMap's environment and answers the bot runtime, the Ingress and the probes", async () => {
    const read = randomBytes(24).toString('hex');
    const config = kind('ConfigMap').data as Record<string, string>;
    const container = kind('Deployment').spec.template.spec.containers[0];
    // The ports are what a test cannot take as given: the container's are checked against the ConfigMap's, and the
    // probes against the port they name.
    expect(container.ports[0].containerPort).to.equal(Number(config.PORT));
    const probesPort = container.ports.find((port: Manifest) => port.name === container.livenessProbe.httpGet.port);
    expect(probesPort.containerPort).to.equal(Number(config.PROBE_PORT));
    const env = { ...config, ADMIN_TOKENS: randomBytes(24).toString('hex'), READ_TOKENS: read };
    await runWith(env, async (url, probesUrl) => {
      for (const host of ['integrations-service', ingress.spec.rules[0].host]) {
        await request(url)
          .get('/integrations/facebook')
          .set('Host', host)
          .set('Authorization', `Bearer ${read}`)
          .expect(200);
      }
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        expect(probe.httpGet.port).to.equal(probesPort.name);
        await request(probesUrl!).get(probe.httpGet.path).expect(200);
      }
    });
  });
});

/** A Compose file's value with its ${NAME}, ${NAME:-default} (nested too) taken from `env`, as Compose does. */
function interpolate(value: string, env: Record<string, string>): string {
  let text = value;
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(
      /\$\{(\w+)(?::-([^${}]*))?\}/g,
      (_all, name: string, fallback?: string) => env[name] || (fallback ?? ''),
    );
  }
  return text;
}

describe('Docker Compose as deployed (ops/compose and the patched chatbot), then run', function () {
  this.timeout(20_000);
  const gatewayToken = randomBytes(24).toString('hex');
  const shell = { GATEWAY_TOKEN: gatewayToken, ADMIN_TOKENS: randomBytes(24).toString('hex') };

  /** The service's environment as Compose gives it, and the Host the gateway sends it (its upstream). */
  const composed = (file: string, service: string, env: Record<string, string>) => {
    const compose = parse(file.endsWith('.yaml') ? readFileSync(path.join(ROOT, file), 'utf8') : file) as Manifest;
    const environment = Object.fromEntries(
      Object.entries(compose.services[service].environment as Record<string, string>).map(([k, v]) => [
        k,
        interpolate(String(v), env),
      ]),
    );
    const gateway = compose.services.gateway.environment as Record<string, string>;
    return {
      environment,
      upstream: interpolate(gateway.INTEGRATIONS_UPSTREAM, env),
      gatewaySends: interpolate(gateway.INTEGRATIONS_GATEWAY_TOKEN, env),
    };
  };

  it('runs ops/compose with exactly its environment and answers the gateway by the name it sends, with its token', async () => {
    const { environment, upstream, gatewaySends } = composed('ops/compose/compose.yaml', 'integrations-service', shell);
    for (const name of Object.keys(environment)) expect(ENV_VARIABLES, name).to.include(name);
    expect(gatewaySends).to.equal(gatewayToken);
    await runWith(environment, async (url, probesUrl) => {
      // The image's health check asks the probe port.
      await request(probesUrl!).get('/healthz').expect(200);
      await request(url)
        .get('/admin/integrations/')
        .set('Host', upstream)
        .set('Authorization', `Bearer ${gatewaySends}`)
        .set('X-Forwarded-User', 'alice')
        .expect(200);
      await request(url).get('/readyz').set('Host', 'localhost:8090').expect(200);
    });
  });

  // What the bot runtime reads, as it reads it: the series the slow-read alert watches is made by the first.
  const botRead = (url: string) =>
    request(url)
      .get('/integrations/facebook')
      .set('Host', 'localhost:8090')
      .set('Authorization', `Bearer ${shell.ADMIN_TOKENS}`)
      .expect(200);

  it('serves every series its alerting rules read, with the labels they select (ops/prometheus/alerts.yml)', async () => {
    const { environment } = composed('ops/compose/compose.yaml', 'integrations-service', shell);
    // `up` is Prometheus's own; job and instance are the labels it attaches.
    const selectors = alertRules()
      .flatMap((rule) => selectorsOf(rule.expr))
      .filter(({ name }) => name !== 'up');
    expect(selectors).to.not.be.empty;
    await runWith(environment, async (url) => {
      await botRead(url);
      const scraped = exposition((await request(url).get('/metrics').set('Host', 'localhost:8090').expect(200)).text);
      const unmatched = selectors.filter((selector) => !finds(selector, scraped, ['job', 'instance']));
      expect(unmatched.map(({ text }) => text)).to.deep.equal([]);
    });
  });

  if (!PROMETHEUS)
    process.stdout.write("  [monitoring] no prometheus (Debian's): the Prometheus rehearsal is SKIPPED\n");
  (PROMETHEUS ? it : it.skip)(
    "runs its monitoring profile's Prometheus: every rule quiet on the healthy service, the store's tripped without MongoDB",
    async function () {
      this.timeout(60_000);
      const compose = parse(readFileSync(path.join(ROOT, 'ops/compose/compose.yaml'), 'utf8')) as Manifest;
      // prometheus.yml and the files mounted beside it, by their names in the container's /etc/prometheus.
      const mounted = Object.fromEntries(
        (compose.services.prometheus.volumes as string[]).map((volume) => {
          const [source, target] = volume.split(':') as [string, string];
          expect(path.posix.dirname(target), volume).to.equal('/etc/prometheus');
          return [path.posix.basename(target), readFileSync(path.join(ROOT, 'ops/compose', source), 'utf8')];
        }),
      );
      const { 'prometheus.yml': configText, ...files } = mounted;
      const config = parse(configText!) as Manifest;
      const { environment } = composed('ops/compose/compose.yaml', 'integrations-service', shell);
      await runWith(environment, async (url, _probes, mongoGoesAway, logs) => {
        // As written, but scraped and evaluated every second, and the service found where this test runs it.
        config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' };
        config.scrape_configs[0].static_configs[0].targets = [new URL(url).host];
        const prometheus = await startPrometheus(stringify(config), files);
        try {
          await botRead(url);
          const seriesOf = (selector: string) =>
            prometheus.api<Record<string, string>[]>(`series?match[]=${encodeURIComponent(selector)}`);
          await waitFor(
            "Prometheus to scrape the bot runtime's read",
            async () => (await seriesOf('http_request_duration_seconds_count{route="/integrations/:id"}')).length > 0,
            20_000,
            200,
          );
          const scraped = Date.now();
          type Rule = { name: string; state: string; health: string; lastError?: string; lastEvaluation: string };
          const rulesNow = async (): Promise<Rule[]> =>
            (await prometheus.api<{ groups: { rules: Rule[] }[] }>('rules')).groups.flatMap((group) => group.rules);
          const rules = await waitFor(
            'every rule evaluated after the scrape',
            async () => {
              const found = await rulesNow();
              return found.every(({ lastEvaluation }) => Date.parse(lastEvaluation) > scraped) && found;
            },
            20_000,
            200,
          );
          expect(rules.map(({ name }) => name)).to.have.members(alertRules().map(({ alert }) => alert));
          for (const rule of rules) {
            expect(rule.health, `${rule.name}: ${rule.lastError}`).to.equal('ok');
            expect(rule.state, rule.name).to.not.equal('firing');
          }
          // The job the rules select is the one Compose's Prometheus scrapes: it sees the service up.
          const absent = rules.find(({ name }) => name === 'IntegrationsServiceAbsent')!;
          expect(absent.state, 'IntegrationsServiceAbsent: up{job="integrations-service"} == 1 is not seen').to.equal(
            'inactive',
          );
          // Every selector, job label included, finds series Prometheus scraped from the service.
          for (const selector of alertRules().flatMap((rule) => selectorsOf(rule.expr))) {
            const held: Series[] = (await seriesOf(`${selector.name}{job=~".+"}`)).map(({ __name__, ...labels }) => ({
              name: __name__!,
              labels,
            }));
            expect(finds(selector, held), selector.text).to.equal(true);
          }

          // MongoDB goes away. The copy stays current until the service hears its change stream is lost (the driver
          // first tries to resume it), then for CACHE_TTL_MS; from then on a read finds MongoDB gone and is answered
          // from the copy. The background pings that find it gone open the circuit.
          await mongoGoesAway();
          const stale = async () => ((await botRead(url)).headers.warning ?? '').startsWith('110 ');
          await waitFor('a read answered from the copy', stale, 20_000, 200);
          const states = await waitFor(
            'the rules to see MongoDB gone',
            async () => {
              const now = Object.fromEntries((await rulesNow()).map(({ name, state }) => [name, state]));
              return now.IntegrationsServingStaleCopies === 'firing' &&
                now.IntegrationsStoreUnreachable === 'pending' &&
                now.IntegrationsChangeStreamDown === 'pending'
                ? now
                : undefined;
            },
            20_000,
            200,
          );
          // The API answered every read: no 5xx alert; each of the three above waits its `for` before it fires.
          expect(states.IntegrationsServerErrors).to.equal('inactive');
          // The lines docs/runbook.md sends the operator to for these alerts.
          expect(logs().map(({ msg }) => msg)).to.include.members(['change stream lost', 'store circuit open']);
        } finally {
          await prometheus.stop();
        }
      });
    },
  );

  const python = ['/usr/bin/python3', 'python3'].find(
    (candidate) =>
      spawnSync(candidate, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)']).status === 0,
  );
  (python ? it : it.skip)(
    "runs the patched chatbot's compose service with exactly its environment, answering its backend and its gateway",
    async () => {
      // The service and the gateway as clients/python/chatbot_patch.py writes them into the chatbot's compose file.
      const fragment = spawnSync(
        python!,
        [
          '-c',
          'import sys; sys.path.insert(0, "clients/python"); import chatbot_patch as p; print(p.SERVICE + p.GATEWAY)',
        ],
        { cwd: ROOT, encoding: 'utf8' },
      );
      expect(fragment.status, fragment.stderr).to.equal(0);
      const env = {
        INTEGRATIONS_GATEWAY_TOKEN: gatewayToken,
        INTEGRATIONS_ADMIN_TOKEN: randomBytes(24).toString('hex'),
      };
      const { environment, upstream, gatewaySends } = composed(
        `services:\n${fragment.stdout}`,
        'integrations-service',
        env,
      );
      for (const name of Object.keys(environment)) expect(ENV_VARIABLES, name).to.include(name);
      await runWith(environment, async (url) => {
        await request(url)
          .get('/admin/integrations/facebook')
          .set('Host', upstream)
          .set('Authorization', `Bearer ${gatewaySends}`)
          .set('X-Forwarded-User', 'alice')
          .expect(200);
        await request(url)
          .get('/integrations/facebook')
          .set('Host', 'integrations-service:8090')
          .set('Authorization', `Bearer ${env.INTEGRATIONS_ADMIN_TOKEN}`)
          .expect(200);
      });
    },
  );
});

describe('ECS as deployed: the task environment terraform.tfvars.example makes, then run', function () {
  this.timeout(20_000);

  /** local.settings of ops/ecs/main.tf with the example's variables: its literal block, then var.settings. */
  const taskEnvironment = (): Record<string, string> => {
    const main = readFileSync(path.join(ROOT, 'ops/ecs/main.tf'), 'utf8');
    const example = readFileSync(path.join(ROOT, 'ops/ecs/terraform.tfvars.example'), 'utf8');
    const tfvar = (name: string): string => new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, 'm').exec(example)![1]!;
    const port = /^\s*port\s*=\s*(\d+)/m.exec(main)![1]!;
    const probePort = /^\s*probe_port\s*=\s*(\d+)/m.exec(main)![1]!;
    const block = /settings = merge\(\{([\s\S]*?)\}, var\.settings\)/.exec(main)![1]!;
    const env: Record<string, string> = {};
    for (const [, name, value] of block.matchAll(/^\s*(\w+)\s*=\s*(.+?)\s*$/gm)) {
      env[name!] = value!.startsWith('"')
        ? value!.slice(1, -1)
        : value === 'var.allowed_hosts'
          ? tfvar('allowed_hosts')
          : value === 'tostring(local.port)'
            ? port
            : value === 'tostring(local.probe_port)'
              ? probePort
              : (() => {
                  throw new Error(`ops/ecs/main.tf: ${name} = ${value} is an expression this rehearsal does not know`);
                })();
    }
    const overrides = /^settings\s*=\s*\{([\s\S]*?)^\}/m.exec(example)![1]!;
    for (const [, name, value] of overrides.matchAll(/^\s*(\w+)\s*=\s*"([^"]*)"/gm)) env[name!] = value!;
    return env;
  };

  it("runs with the task's environment and answers the load balancer's host name and health check", async () => {
    const env = taskEnvironment();
    for (const name of Object.keys(env)) expect(ENV_VARIABLES, name).to.include(name);
    const read = randomBytes(24).toString('hex');
    await runWith(
      { ...env, READ_TOKENS: read, ADMIN_TOKENS: randomBytes(24).toString('hex') },
      async (url, probesUrl) => {
        for (const host of env.ALLOWED_HOSTS!.split(',')) {
          await request(url)
            .get('/integrations/facebook')
            .set('Host', host)
            .set('Authorization', `Bearer ${read}`)
            .expect(200);
        }
        // The load balancer's health check on the API port, the container's on the probe port.
        await request(url).get('/readyz').expect(200);
        await request(probesUrl!).get('/healthz').expect(200);
      },
    );
  });
});
