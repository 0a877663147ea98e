// No Docker engine or cluster runs here, so this is the check we can make: every manifest in ops/
// parses, and agrees with the code on port, probe paths, configuration variables and image name.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { expect } from 'chai';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { randomBytes } from 'node:crypto';
import { type ConfigError, ENV_VARIABLES, loadConfig } from '../../src/infrastructure/config';

const randomToken = (): string => randomBytes(24).toString('hex');
import { deployedTcpRmem, ROOT, SERVICE_NODE_OPTIONS } from '../support/process';
import { ALERTS_FILE, PROMTOOL, alertRules, selectorsOf } from '../support/prometheus';

const read = (relative: string) => readFileSync(path.join(ROOT, relative), 'utf8');
const yamlFile = (relative: string) => parseYaml(read(relative)) as Record<string, any>;

const DEFAULTS = loadConfig({});
const PORT = DEFAULTS.port;
// Where every deployment form sends its health checks: a listener of its own (docs/design.md, "The probe port").
const PROBE_PORT = 8091;
const IMAGE = 'integrations-service';
const SECRET_VARIABLES = [
  'MONGODB_URI',
  'ADMIN_TOKENS',
  'READ_TOKENS',
  'GATEWAY_TOKENS',
  'ENCRYPTION_KEY',
  'ENCRYPTION_KEY_PREVIOUS',
  'ENCRYPTION_KEY_NEXT',
];

describe('ops manifests agree with the code', () => {
  it('the configuration list the manifests are checked against is the one the service reads', () => {
    expect(ENV_VARIABLES).to.include.members([
      'MONGODB_URI',
      'MONGODB_DB',
      'MONGO_MAX_POOL_SIZE',
      'LOG_LEVEL',
      'METRICS_ENABLED',
      'PORT',
      'PROBE_PORT',
      'HOST',
    ]);
    expect(ENV_VARIABLES).to.have.length(23);
  });

  describe('Dockerfile', () => {
    const dockerfile = read('Dockerfile');
    const instructions = dockerfile
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'));
    const runtime = instructions.slice(instructions.findIndex((l) => /^FROM .* AS runtime/.test(l)));

    it('builds in one stage and runs with production dependencies only in another', () => {
      expect(instructions.filter((l) => l.startsWith('FROM'))).to.have.length(2);
      expect(dockerfile).to.include('RUN npm ci').and.include('npm run build').and.include('npm prune --omit=dev');
    });

    it('runs as a non-root user, exposes the service port, checks /healthz, starts the built entry point', () => {
      expect(runtime.find((l) => l.startsWith('USER'))).to.equal('USER node');
      expect(runtime.find((l) => l.startsWith('EXPOSE'))).to.equal(`EXPOSE ${PORT}`);
      expect(runtime.find((l) => l.startsWith('ENV')))
        .to.include(`PORT=${PORT}`)
        .and.include(`PROBE_PORT=${PROBE_PORT}`)
        .and.include('NODE_ENV=production');
      expect(runtime.find((l) => l.startsWith('HEALTHCHECK')))
        .to.include('process.env.PROBE_PORT')
        .and.include('/healthz');
      const pkg = JSON.parse(read('package.json')) as { main: string; scripts: Record<string, string> };
      // The image runs what npm start runs, node's options and all (the tests and the bench spawn it so too).
      const start = ['node', ...SERVICE_NODE_OPTIONS, pkg.main];
      expect(pkg.scripts.start).to.equal(start.join(' '));
      expect(runtime.find((l) => l.startsWith('CMD'))).to.equal(
        `CMD [${start.map((word) => JSON.stringify(word)).join(', ')}]`,
      );
    });

    it('leaves the working tree out of the build context', () => {
      const ignored = read('.dockerignore').split('\n');
      expect(ignored).to.include.members(['node_modules', 'dist', '.git', 'test']);
    });
  });

  describe('Docker Compose (ops/compose/compose.yaml)', () => {
    const compose = yamlFile('ops/compose/compose.yaml');
    const service = compose.services['integrations-service'];

    it(
      'runs MongoDB 7 as a single-node replica set with a volume and a healthcheck, and the service once it has a ' +
        'primary',
      () => {
        expect(compose.services.mongo.image).to.match(/^mongo:7/);
        expect(compose.services.mongo.command).to.deep.equal(['--replSet', 'rs0', '--bind_ip_all']);
        expect(compose.services.mongo.healthcheck.test.join(' '))
          .to.include("rs.initiate({ _id: 'rs0'")
          .and.include('isWritablePrimary');
        expect(compose.services.mongo.volumes[0]).to.match(/^mongo-data:\/data\/db$/);
        expect(compose.volumes).to.have.property('mongo-data');
        expect(compose.services.mongo.healthcheck.test.join(' ')).to.include('ping');
        expect(service.depends_on.mongo.condition).to.equal('service_healthy');
      },
    );

    it('builds the Dockerfile, publishes the service port, and waits longer than the shutdown grace', () => {
      expect(service.build).to.deep.equal({ context: '../..', dockerfile: 'Dockerfile' });
      expect(service.image).to.match(new RegExp(`^${IMAGE}:`));
      expect(service.ports).to.include(`\${SERVICE_LISTEN:-127.0.0.1}:${PORT}:${PORT}`);
      expect(parseInt(service.stop_grace_period, 10) * 1000).to.be.above(Number(service.environment.SHUTDOWN_GRACE_MS));
    });

    it('publishes every port on this machine only unless a variable opens it (Prometheus, MongoDB ask no password)', () => {
      const published = Object.entries(compose.services as Record<string, { ports?: string[] }>).flatMap(
        ([name, { ports = [] }]) => ports.map((port) => [name, port] as const),
      );
      expect(published.map(([name]) => name)).to.include.members(['integrations-service', 'gateway', 'prometheus']);
      for (const [name, port] of published) expect(port, name).to.match(/^(127\.0\.0\.1|\$\{\w+:-127\.0\.0\.1\}):/);
    });

    it('sets every configuration variable, and nothing the service does not read', () => {
      expect(Object.keys(service.environment)).to.have.members(ENV_VARIABLES);
      expect(service.environment.MONGODB_URI).to.equal('mongodb://mongo:27017/?replicaSet=rs0');
      expect(service.environment.PORT).to.equal(String(PORT));
      expect(service.environment.PROBE_PORT).to.equal(String(PROBE_PORT));
    });

    it('is a configuration the service accepts (unset secrets as empty values)', () => {
      const env = Object.fromEntries(
        Object.entries(service.environment as Record<string, string>).map(([k, v]) => [
          k,
          v.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1'),
        ]),
      );
      expect(loadConfig(env)).to.include({ isProduction: true, port: PORT, migrateOnStart: true });
    });

    it("holds at most 8 KiB of a connection's unread bytes in the kernel, as ops/k8s does", () => {
      expect(service.sysctls).to.deep.equal({ 'net.ipv4.tcp_rmem': deployedTcpRmem() });
    });

    it('lets Prometheus scrape the service /metrics', () => {
      const prometheus = yamlFile('ops/compose/prometheus.yml');
      const job = prometheus.scrape_configs.find((j: { job_name: string }) => j.job_name === IMAGE);
      expect(job.metrics_path).to.equal('/metrics');
      expect(job.static_configs[0].targets).to.deep.equal([`integrations-service:${PORT}`]);
    });

    it('evaluates the alerting rules: prometheus.yml names them where the stack mounts them beside it', () => {
      const prometheus = yamlFile('ops/compose/prometheus.yml');
      expect(prometheus.rule_files).to.deep.equal(['alerts.yml']);
      expect(compose.services.prometheus.volumes).to.include.members([
        './prometheus.yml:/etc/prometheus/prometheus.yml:ro',
        `../${path.relative('ops', ALERTS_FILE)}:/etc/prometheus/alerts.yml:ro`,
      ]);
    });
  });

  describe('Kubernetes (ops/k8s)', () => {
    const dir = 'ops/k8s';
    const docs = readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((file) =>
        parseAllDocuments(read(`${dir}/${file}`)).map((d) => ({ file, doc: d.toJS() as Record<string, any> })),
      );
    const kind = (k: string) => docs.find((d) => d.doc.kind === k)!.doc;
    const deployment = kind('Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const configMap = kind('ConfigMap');

    it('parses every file, and the kustomization lists only files that exist', () => {
      for (const { file, doc } of docs) expect(doc, file).to.be.an('object');
      const kustomization = kind('Kustomization');
      for (const resource of kustomization.resources)
        expect(
          docs.some((d) => d.file === resource),
          resource,
        ).to.equal(true);
      expect(kustomization.images[0].name).to.equal(container.image);
      expect(container.image).to.equal(IMAGE);
    });

    it('is namespace-agnostic', () => {
      for (const { file, doc } of docs) expect(doc.metadata?.namespace, file).to.equal(undefined);
    });

    it('runs 2 replicas with liveness on /healthz and readiness on /readyz at the probe port', () => {
      expect(deployment.spec.replicas).to.equal(2);
      expect(container.ports[0]).to.include({ name: 'http', containerPort: PORT });
      expect(container.ports[1]).to.include({ name: 'probes', containerPort: PROBE_PORT });
      expect(configMap.data.PROBE_PORT).to.equal(String(PROBE_PORT));
      expect(container.startupProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'probes' });
      expect(container.livenessProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'probes' });
      expect(container.readinessProbe.httpGet).to.deep.equal({ path: '/readyz', port: 'probes' });
      expect(container.readinessProbe.timeoutSeconds * 1000).to.be.above(Number(configMap.data.STORE_TIMEOUT_MS));
    });

    it('gives in-flight requests their grace: terminationGracePeriod above preStop + SHUTDOWN_GRACE_MS', () => {
      const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
      expect(pod.terminationGracePeriodSeconds * 1000).to.be.above(
        preStopSeconds * 1000 + Number(configMap.data.SHUTDOWN_GRACE_MS),
      );
    });

    it('runs non-root on a read-only root filesystem with resources set', () => {
      expect(pod.securityContext).to.include({ runAsNonRoot: true });
      expect(container.securityContext).to.include({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(container.resources.requests).to.have.keys('cpu', 'memory');
      expect(container.resources.limits).to.have.property('memory');
    });

    it("holds at most 8 KiB of a connection's unread bytes in the kernel (net.ipv4.tcp_rmem, a safe sysctl)", () => {
      const rmem = deployedTcpRmem();
      expect(pod.securityContext.sysctls).to.deep.equal([{ name: 'net.ipv4.tcp_rmem', value: rmem }]);
      const [min, initial, max] = rmem.split(' ').map(Number);
      expect(max).to.be.at.most(8 * 1024);
      expect(min).to.be.at.most(initial!).and.above(0);
      expect(initial).to.be.at.most(max!);
    });

    it('takes every configuration variable from the ConfigMap, and credentials (MONGODB_URI first) from the Secret', () => {
      expect(container.envFrom[0].configMapRef.name).to.equal(configMap.metadata.name);
      const fromSecret = container.env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.name);
      expect(fromSecret).to.deep.equal(SECRET_VARIABLES);
      expect(container.env.find((e: any) => e.name === 'MONGODB_URI').valueFrom.secretKeyRef.optional).to.equal(
        undefined,
      );
      expect([...Object.keys(configMap.data), ...fromSecret]).to.have.members(ENV_VARIABLES);
      expect(Object.keys(kind('Secret').stringData)).to.have.members(SECRET_VARIABLES);
      expect(configMap.data.PORT).to.equal(String(PORT));
    });

    it('is a configuration the service accepts, with real secrets', () => {
      const secrets = { MONGODB_URI: 'mongodb://svc:pw@mongo-0.db:27017/?replicaSet=rs0', ADMIN_TOKENS: randomToken() };
      expect(loadConfig({ ...configMap.data, ...secrets })).to.include({ isProduction: true, port: PORT });
    });

    it('refuses in production every value the example Secret gives, naming each (a manifest applied as shipped)', () => {
      const secret = kind('Secret').stringData as Record<string, string>;
      const refused = (env: Record<string, string>): string[] => {
        try {
          loadConfig({ ...configMap.data, ...env });
        } catch (error) {
          return (error as ConfigError).problems.map((problem) => problem.split(':')[0]!);
        }
        return [];
      };
      expect(refused(secret)).to.include('ENCRYPTION_KEY');
      const { ENCRYPTION_KEY: _key, ...rest } = secret;
      expect(refused(rest)).to.include.members(['MONGODB_URI', 'ADMIN_TOKENS', 'READ_TOKENS', 'GATEWAY_TOKENS']);
    });

    it('routes the Service, HPA, PDB and scrape annotations to the Deployment', () => {
      const labels = deployment.spec.template.metadata.labels;
      const service = kind('Service');
      expect(service.spec.selector).to.deep.equal(labels);
      expect(service.spec.ports[0].targetPort).to.equal('http');
      expect(kind('PodDisruptionBudget').spec.selector.matchLabels).to.deep.equal(labels);
      const hpa = kind('HorizontalPodAutoscaler');
      expect(hpa.spec.scaleTargetRef).to.include({ kind: 'Deployment', name: deployment.metadata.name });
      expect(hpa.spec.minReplicas).to.be.at.least(2);
      expect(hpa.spec.metrics[0].resource.name).to.equal('cpu');
      expect(deployment.spec.template.metadata.annotations).to.include({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(PORT),
        'prometheus.io/path': '/metrics',
      });
      expect(kind('ServiceMonitor').spec.endpoints[0]).to.include({ port: 'http', path: '/metrics' });
      expect(kind('Ingress').spec.rules[0].http.paths[0].backend.service.name).to.equal(service.metadata.name);
    });

    it("gives the Prometheus Operator alerts.yml's rules, selecting the job its ServiceMonitor's scrape is named", () => {
      expect(kind('PrometheusRule').spec.groups).to.deep.equal(yamlFile(ALERTS_FILE).groups);
      // The Operator names the job after the Service the ServiceMonitor selects.
      const service = kind('Service');
      expect(service.metadata.labels).to.include(kind('ServiceMonitor').spec.selector.matchLabels);
      expect(service.metadata.name).to.equal(IMAGE);
    });

    it('warns of memory at 7/8 of the limit the Deployment sets', () => {
      const limit: string = container.resources.limits.memory;
      expect(limit).to.match(/^\d+Mi$/);
      const rule = alertRules().find(({ alert }) => alert === 'IntegrationsMemoryNearLimit')!;
      expect(Number(/> (\d+)$/.exec(rule.expr)![1])).to.equal((parseInt(limit, 10) * 2 ** 20 * 7) / 8);
      expect(rule.annotations.summary).to.include(`its ${parseInt(limit, 10)} MiB limit`);
    });

    it('runs the migration and reseal Jobs with the built entry points, each with a deadline', () => {
      const job = (file: string) => docs.find((d) => d.file === file && d.doc.kind === 'Job')!.doc;
      const scripts = JSON.parse(read('package.json')).scripts;
      for (const [file, entry, script] of [
        ['migrate-job.yaml', 'dist/migrate.js', 'migrate'],
        ['reseal-job.yaml', 'dist/reseal.js', 'reseal'],
      ]) {
        expect(job(file).spec.template.spec.containers[0].command).to.deep.equal(['node', entry]);
        expect(job(file).spec.activeDeadlineSeconds).to.be.within(60, 3_600);
        expect(scripts[script]).to.equal(`node ${entry}`);
      }
      const reseal = job('reseal-job.yaml').spec.template.spec.containers[0];
      expect(reseal.env.map((e: { name: string }) => e.name)).to.include.members([
        'MONGODB_URI',
        'ENCRYPTION_KEY',
        'ENCRYPTION_KEY_PREVIOUS',
      ]);
    });
  });

  describe('alerting rules (ops/prometheus)', () => {
    const tests = yamlFile('ops/prometheus/alerts.test.yml').tests as {
      alert_rule_test: { alertname: string; exp_alerts?: unknown[] }[];
    }[];
    const cases = tests.flatMap((test) => test.alert_rule_test);

    it('select the job Compose scrapes, in every selector', () => {
      const job = yamlFile('ops/compose/prometheus.yml').scrape_configs[0].job_name;
      for (const rule of alertRules()) {
        for (const selector of selectorsOf(rule.expr)) {
          expect(selector.matchers, `${rule.alert}: ${selector.text}`).to.deep.include({
            label: 'job',
            op: '=',
            value: job,
          });
        }
      }
    });

    it('are each tested firing and quiet (alerts.test.yml)', () => {
      for (const { alert } of alertRules()) {
        const own = cases.filter(({ alertname }) => alertname === alert);
        expect(
          own.some(({ exp_alerts }) => (exp_alerts ?? []).length > 0),
          `${alert} firing`,
        ).to.equal(true);
        expect(
          own.some(({ exp_alerts }) => (exp_alerts ?? []).length === 0),
          `${alert} quiet`,
        ).to.equal(true);
      }
    });

    it('each have a section of docs/runbook.md, which has one for no other', () => {
      const sections = [...read('docs/runbook.md').matchAll(/^## (\S+)$/gm)].map(([, name]) => name);
      expect(sections).to.deep.equal(alertRules().map(({ alert }) => alert));
    });

    if (!PROMTOOL)
      process.stdout.write("  [alerts] no promtool (Debian's prometheus): the rules' unit tests are SKIPPED\n");
    (PROMTOOL ? it : it.skip)('pass promtool: the rules check, and their unit tests hold', () => {
      for (const args of [
        ['check', 'rules', ALERTS_FILE],
        ['test', 'rules', 'ops/prometheus/alerts.test.yml'],
      ]) {
        const run = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });
        expect(run.status, `promtool ${args.join(' ')}\n${run.stdout}${run.stderr}`).to.equal(0);
      }
    });
  });

  describe('ECS / Fargate Terraform (ops/ecs)', () => {
    let tf: Record<string, any>;

    before(async () => {
      tf = {};
      for (const file of readdirSync(path.join(ROOT, 'ops/ecs')).filter((f) => f.endsWith('.tf'))) {
        const parsed = (await parseHcl(file, read(`ops/ecs/${file}`))) as Record<string, any>;
        // `locals` blocks parse to a list; the other blocks to maps keyed by name.
        for (const [block, value] of Object.entries(parsed))
          tf[block] = Array.isArray(value) ? [...(tf[block] ?? []), ...value] : { ...(tf[block] ?? {}), ...value };
      }
    });

    const locals = () => Object.assign({}, ...(tf.locals as object[]));
    // The service's own resource of a type (`this`), where the module has more than one.
    const resource = (type: string) =>
      ((tf.resource[type].this ?? Object.values(tf.resource[type])[0]) as object[])[0] as Record<string, any>;

    it('parses every file: a task definition, a service, autoscaling, logs, variables and outputs', () => {
      expect(tf.resource).to.include.keys(
        'aws_ecs_task_definition',
        'aws_ecs_service',
        'aws_appautoscaling_target',
        'aws_appautoscaling_policy',
        'aws_cloudwatch_log_group',
      );
      expect(tf.variable).to.include.keys('image', 'desired_count', 'mongodb_uri_secret_arn');
      expect(tf.output).to.include.keys('service_name', 'task_definition_arn', 'log_group_name');
      expect(resource('aws_ecs_task_definition').container_definitions).to.include('local.container_definitions');
    });

    it('defines the container on the service port, with a /healthz health check and logs to CloudWatch', () => {
      const [container] = locals().container_definitions;
      expect(locals().port).to.equal(PORT);
      expect(locals().probe_port).to.equal(PROBE_PORT);
      expect(locals().settings).to.match(/PROBE_PORT\s*=\s*tostring\(local\.probe_port\)/);
      expect(container.portMappings[0].containerPort).to.equal('${local.port}');
      expect(container.healthCheck.command.join(' ')).to.include(`127.0.0.1:${PROBE_PORT}/healthz`);
      expect(container.logConfiguration.logDriver).to.equal('awslogs');
      expect(container.stopTimeout * 1000).to.be.above(
        Number(locals().settings.match(/SHUTDOWN_GRACE_MS\s*=\s*"(\d+)"/)[1]),
      );
    });

    it("holds at most 8 KiB of a connection's unread bytes in the kernel, as ops/k8s does", () => {
      const [container] = locals().container_definitions;
      expect(container.systemControls).to.deep.equal([{ namespace: 'net.ipv4.tcp_rmem', value: deployedTcpRmem() }]);
    });

    it('passes every configuration variable: settings as environment, credentials from Secrets Manager', () => {
      const settingsNames = [...String(locals().settings).matchAll(/^\s*([A-Z_]+)\s*=/gm)].map((m) => m[1]);
      const secretNames = Object.keys(locals().secret_arns);
      expect(secretNames).to.have.members(SECRET_VARIABLES);
      expect([...settingsNames, ...secretNames]).to.have.members(ENV_VARIABLES);
      const [container] = locals().container_definitions;
      expect(container.secrets).to.include('valueFrom = arn');
      expect(tf.variable.mongodb_uri_secret_arn[0].default).to.equal(undefined);
    });

    it('runs 2 tasks with the deployment circuit breaker and scales on CPU', () => {
      expect(tf.variable.desired_count[0].default).to.equal(2);
      expect(tf.variable.min_capacity[0].default).to.be.at.least(2);
      const service = resource('aws_ecs_service');
      expect(service.deployment_circuit_breaker[0]).to.deep.equal({ enable: true, rollback: true });
      expect(service.launch_type).to.equal('FARGATE');
      const policy = resource('aws_appautoscaling_policy');
      expect(
        policy.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0]
          .predefined_metric_type,
      ).to.equal('ECSServiceAverageCPUUtilization');
    });

    it('names the image after this service', () => {
      expect(tf.variable.image[0].description).to.include(`/${IMAGE}:`);
      expect(tf.variable.name[0].default).to.equal(IMAGE);
    });

    it('defines the migrations as a one-off task: the same image, settings and secrets, node dist/migrate.js', () => {
      const migrate = tf.resource.aws_ecs_task_definition.migrate[0];
      const service = tf.resource.aws_ecs_task_definition.this[0];
      expect(migrate.execution_role_arn).to.equal(service.execution_role_arn);
      const text = JSON.stringify(migrate.container_definitions);
      for (const part of ['node', 'dist/migrate.js', 'var.image', 'local.settings', 'local.secrets'])
        expect(text).to.include(part);
      expect(tf.output.migrate_task_definition_arn[0].value).to.include('aws_ecs_task_definition.migrate.arn');
    });
  });

  it('the README configuration table lists exactly the variables the service reads', () => {
    const readme = read('README.md');
    const table = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5),
    );
    const listed = [...table.matchAll(/^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)? \|/gm)].flatMap((m) =>
      [m[1], m[2]].filter(Boolean),
    );
    expect(listed).to.have.members(ENV_VARIABLES);
  });

  describe('CI workflow (.github/workflows/ci.yml)', () => {
    const workflow = yamlFile('.github/workflows/ci.yml');

    it("runs .ci/run, as CI here does, not under sudo (which would put another Node than setup-node's on PATH)", () => {
      const runs = workflow.jobs.test.steps.map((step: { run?: string }) => step.run ?? '').join('\n');
      expect(runs)
        .to.include('.ci/run')
        .and.not.match(/sudo[^\n]*\.ci\/run/);
    });

    it('fails a leg whose MongoDB never answers, instead of testing against nothing', () => {
      for (const job of ['mongodb', 'mongodb-too-old']) {
        const start = (workflow.jobs[job].steps as { run?: string }[]).map((step) => step.run ?? '').join('\n');
        expect(start, job)
          .to.include('set -euo pipefail')
          .and.match(/(return|exit) 1/);
      }
    });

    it('runs the suite once more with a mongod on PATH and no MONGODB_URI: npm test starts its own replica set', () => {
      const steps = workflow.jobs['mongod-on-path'].steps as { run?: string; env?: Record<string, string> }[];
      expect(steps.map((step) => step.run ?? '').join('\n'))
        .to.include('GITHUB_PATH')
        .and.include('npm test');
      expect(steps.every((step) => step.env?.MONGODB_URI === undefined)).to.equal(true);
    });

    it(
      'runs the whole suite against the oldest supported MongoDB and the current one, standalone and as a replica ' +
        'set',
      () => {
        const { matrix } = workflow.jobs.mongodb.strategy;
        expect(matrix.mongo).to.include.members(['4.4', '7.0']);
        expect(matrix.topology).to.have.members(['standalone', 'replicaset']);
        const steps = workflow.jobs.mongodb.steps as { run?: string; env?: Record<string, string> }[];
        const test = steps.find((step) => step.run === 'npm test')!;
        expect(test.env!.MONGODB_URI).to.equal('${{ matrix.uri }}');
        // A replica set is named: with directConnection=true the driver would read primaryPreferred.
        const uris = Object.fromEntries(
          (matrix.include as { topology: string; uri: string }[]).map(({ topology, uri }) => [topology, uri]),
        );
        expect(uris).to.deep.equal({
          standalone: 'mongodb://localhost:27017/',
          replicaset: 'mongodb://localhost:27017/?replicaSet=rs0',
        });
        const start = steps.map((step) => step.run ?? '').join('\n');
        expect(start).to.include('--replSet rs0').and.include('rs.initiate');
      },
    );

    it('runs the admin UI test against the chatbot at 5f57f99, checked out beside this repository', () => {
      const job = workflow.jobs['chatbot-admin-ui'];
      const steps = job.steps as {
        uses?: string;
        with?: Record<string, string>;
        run?: string;
        env?: Record<string, string>;
      }[];
      const chatbot = steps.find((step) => step.with?.repository === 'alfredfrancis/ai-chatbot-framework')!;
      expect(chatbot.with!.ref).to.match(/^5f57f99[0-9a-f]{33}$/);
      const service = steps.find((step) => step.uses?.startsWith('actions/checkout') && !step.with?.repository)!;
      expect(service.with!.path).to.not.equal(chatbot.with!.path);
      expect(job.defaults.run['working-directory']).to.equal(service.with!.path);
      const test = steps.find((step) => step.run === 'npx mocha test/browser/admin-ui.spec.ts')!;
      expect(test.env!.CHATBOT_CHECKOUT).to.equal(`\${{ github.workspace }}/${chatbot.with!.path}`);
      expect(test.env!.CHROMIUM_PATH).to.be.a('string');
      expect(steps.map((step) => step.run ?? '').join('\n')).to.include('npm ci');
    });

    it("runs the Python client's tests on the chatbot's Python and pinned httpx and FastAPI", () => {
      const steps = workflow.jobs['python-client-chatbot-versions'].steps as {
        uses?: string;
        with?: Record<string, string>;
        run?: string;
      }[];
      expect(steps.find((step) => step.uses?.startsWith('actions/setup-python'))!.with!['python-version']).to.equal(
        '3.12.7',
      );
      const runs = steps.map((step) => step.run ?? '').join('\n');
      expect(runs).to.include('httpx==0.28.1').and.include('fastapi==0.115.7').and.include('pydantic==2.10.6');
      // Installed before the suite runs, which takes the python3 on PATH (setup-python's) first.
      expect(runs.indexOf('pip install')).to.be.lessThan(runs.indexOf('npx mocha test/python/client.spec.ts'));
    });

    it('tests the alerting rules with the promtool of the Prometheus image Compose pins', () => {
      const run = (workflow.jobs['alerting-rules'].steps as { run?: string }[])
        .map((step) => step.run ?? '')
        .join('\n');
      // The job's own line that names the image, run here against compose.yaml.
      const pick = run.split('\n').find((line) => line.startsWith('image=$('))!;
      const image = spawnSync('bash', ['-c', `${pick}; printf %s "$image"`], { cwd: ROOT, encoding: 'utf8' }).stdout;
      expect(image).to.equal(yamlFile('ops/compose/compose.yaml').services.prometheus.image);
      expect(run)
        .to.include('set -euo pipefail')
        .and.include('check rules /rules/alerts.yml')
        .and.include('test rules /rules/alerts.test.yml')
        .and.include('"$PWD/ops/prometheus:/rules:ro"');
    });

    it('checks the refusal of the chatbot’s MongoDB 4.2 on a real one', () => {
      const steps = workflow.jobs['mongodb-too-old'].steps as { run?: string; env?: Record<string, string> }[];
      expect(steps.map((step) => step.run ?? '').join('\n')).to.include('mongo:4.2');
      const refusal = steps.find((step) => step.env?.MONGODB_OLD_URI)!;
      expect(refusal.run).to.equal('npx mocha test/persistence/mongo-wire-double.spec.ts');
    });
  });
});
