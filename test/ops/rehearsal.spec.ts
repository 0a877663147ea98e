// The Kubernetes form rehearsed as an operator deploys it: rendered by kustomize (kubectl kustomize), checked
// against the service (every host a client is sent to is one it answers, every variable one it reads, probes
// and ports that exist, images pinned), then run here with exactly the ConfigMap's environment — the Secret's
// values made fresh, MongoDB a wire double — and sent what its clients send: the bot runtime by the Service's
// name, a client outside the cluster through the Ingress's host, the kubelet's probes.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { parseAllDocuments } from 'yaml';
import { hostMatcher } from '../../src/adapters/http/auth';
import { ENV_VARIABLES } from '../../src/infrastructure/config';
import { ROOT } from '../support/process';
import { startService } from '../support/service';
import { helloReply, startWireDouble, statefulStore } from '../support/wire-double';

type Manifest = Record<string, any>;

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
    const double = await startWireDouble(statefulStore(() => helloReply(21)).script);
    const read = randomBytes(24).toString('hex');
    const config = kind('ConfigMap').data as Record<string, string>;
    const container = kind('Deployment').spec.template.spec.containers[0];
    const running = await startService({
      ...config,
      // The port is the one thing a test cannot take as given; the container's is checked against it below.
      PORT: '0',
      MONGODB_URI: double.uri,
      ADMIN_TOKENS: randomBytes(24).toString('hex'),
      READ_TOKENS: read,
    });
    try {
      expect(container.ports[0].containerPort).to.equal(Number(config.PORT));
      for (const host of ['integrations-service', ingress.spec.rules[0].host]) {
        await request(running.url)
          .get('/integrations/facebook')
          .set('Host', host)
          .set('Authorization', `Bearer ${read}`)
          .expect(200);
      }
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        await request(running.url).get(probe.httpGet.path).expect(200);
      }
    } finally {
      await running.stop();
      await double.close();
    }
  });
});
