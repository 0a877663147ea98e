// The script that writes the chatbot's side of the move (clients/python/chatbot_patch.py), checked for form: the
// chatbot's source cannot be downloaded here, so it runs against a stand-in checkout that holds only the lines
// its edits find their places by (as they are at 5f57f99), and the patch it prints must apply there and make
// each change MIGRATION.md lists. Against the real chatbot at 5f57f99 it was run outside this suite.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { deployedTcpRmem, git, ROOT } from '../support/process';

const SCRIPT = path.join(ROOT, 'clients/python/chatbot_patch.py');
const PYTHON = ['/usr/bin/python3', 'python3'].find(
  (python) => spawnSync(python, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)']).status === 0,
);

// Each file's lines the script edits at, nothing more (the chatbot's own code is not kept here).
const STAND_IN: Record<string, string> = {
  '.gitignore': '__pycache__/\n',
  'app/admin/integrations/routes.py': 'from . import store\n',
  'app/admin/integrations/store.py': '# the old store\n',
  'app/bot/channels/facebook/routes.py': 'from app.admin.integrations.store import get_integration\n',
  'manage.py':
    '        from app.admin.integrations.store import ensure_default_integrations\n        await ' +
    'ensure_default_integrations()\n',
  'app/main.py':
    'from app.dependencies import init_dialogue_manager\n\nasync def lifespan(_):\n    await ' +
    'init_dialogue_manager()\n    yield\n    database_client.close()\n\napp = FastAPI(title="AI Chatbot ' +
    'Framework", lifespan=lifespan)\n',
  'docker-compose.yml':
    'services:\n  backend:\n    image: alfredfrancis/ai-chatbot-framework_backend:latest\n    environment:\n      APPLICATION_ENV: Production\n    depends_on:\n      - ' +
    'mongodb\n\n  mongodb:\n    image: mongo:4.2.20\n\n  gateway:\n    image: nginx:1.13.3-alpine\n\nvolumes:\n  ' +
    'mongodbdata:\n',
  'docker-compose.dev.yml':
    'services:\n  mongodb:\n    image: mongo:4.2.20\n  app:\n    environment:\n      APPLICATION_ENV: ' +
    'Development\n\nvolumes:\n  mongodbdata:\n',
  'helm/ai-chatbot-framework/templates/deployment-backend.yaml':
    '          image: "{{ .Values.image.backend.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"\n' +
    '          env:\n            - name: MONGO_URL\n              value: {{.Values.mongodb.uri}}\n' +
    '          image: "{{ .Values.image.backend.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"\n',
  'helm/ai-chatbot-framework/values.yaml':
    'replicaCount: 2\nimage:\n  backend:\n    repository: "alfredfrancis/ai-chatbot-framework_backend"\n',
  'scripts/nginx/default.conf': 'server {}\n',
  'frontend/app/services/integrations.tsx':
    'import { API_BASE_URL } from "./base";\n\nexport async function updateIntegration() {\n  if (!response.ok) {\n' +
    "    throw new Error('Failed to update integration');\n  }\n}\n",
  'frontend/app/admin/settings/integrations/FacebookMessenger.tsx':
    '  const [copied, setCopied] = useState(false);\n      onUpdate?.(updatedIntegration);\n    } catch (error) {\n' +
    "      console.error('Failed to update integration:', error);\n    }\n  };\n\n  const handleToggle\n" +
    "      console.error('Failed to update integration:', error);\n      setIsEnabled(!checked); // Revert on error\n" +
    '          Connect your Facebook page to start receiving messages from Facebook Messenger.\n        </p>\n',
  'frontend/app/admin/settings/integrations/ChatWidget.tsx':
    '  const handleCopy = () => {\n      onUpdate?.(updatedIntegration);\n    } catch (error) {\n' +
    "      console.error('Failed to update integration:', error);\n      setIsEnabled(!checked); // Revert on error\n" +
    '      <p className="text-sm text-gray-600 mb-4">\n',
};

// Every folder a test made, removed after it.
const made: string[] = [];
function madeDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

function standIn(files: Record<string, string>): string {
  const dir = madeDir('chatbot-stand-in-');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'stand-in');
  return dir;
}

if (!PYTHON)
  process.stdout.write(
    '  [python] no python3 >= 3.9: the chatbot patch tests are SKIPPED (apt-get install python3; .ci/run does)\n',
  );

(PYTHON ? describe : describe.skip)('the patch for the chatbot (clients/python/chatbot_patch.py)', () => {
  // Its temporary files go to a folder of the test's own, which must be empty again once it has written the patch.
  let scratch = '';
  const write = (dir: string) =>
    spawnSync(PYTHON!, [SCRIPT, '--commit', 'HEAD', dir], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: scratch },
    });

  beforeEach(() => {
    scratch = madeDir('chatbot-patch-scratch-');
  });

  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('prints a patch that applies, making every change MIGRATION.md lists', () => {
    const dir = standIn(STAND_IN);
    const written = write(dir);
    expect(written.status, written.stderr).to.equal(0);
    expect(readdirSync(scratch), 'left in its temporary folder').to.deep.equal([]);
    expect(git(dir, 'worktree', 'list').trim().split('\n')).to.have.length(1);
    const patch = written.stdout;
    writeFileSync(path.join(dir, 'move.patch'), patch);
    git(dir, 'apply', 'move.patch');
    const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');

    expect([...patch.matchAll(/^diff --git a\/(\S+)/gm)].map((m) => m[1]).sort()).to.deep.equal(
      [
        ...Object.keys(STAND_IN),
        'app/admin/integrations/client.py',
        'scripts/nginx/templates/default.conf.template',
      ].sort(),
    );
    expect(read('app/admin/integrations/client.py')).to.equal(
      readFileSync(path.join(ROOT, 'clients/python/integrations_client.py'), 'utf8'),
    );
    expect(read('app/admin/integrations/routes.py')).to.equal('from . import client as store\n');
    expect(read('app/bot/channels/facebook/routes.py')).to.equal(
      'from app.admin.integrations.client import get_integration\n',
    );
    expect(read('manage.py')).to.not.include('ensure_default_integrations');
    expect(patch).to.include('deleted file mode').and.include('a/app/admin/integrations/store.py');
    expect(read('app/main.py'))
      .to.include('integrations_client.install_error_handlers(app)')
      .and.include('await integrations_client.check_at_start()')
      .and.include('await integrations_client.aclose()');

    const compose = parse(read('docker-compose.yml'));
    expect(Object.keys(compose.services.backend.environment)).to.include.members([
      'INTEGRATIONS_SERVICE_URL',
      'INTEGRATIONS_SERVICE_READ_TOKEN',
      'INTEGRATIONS_SERVICE_ADMIN_TOKEN',
    ]);
    expect(compose.services.mongodb.image).to.equal('mongo:4.4');
    // The patched code runs: Compose builds the backend from this source, Helm names the image built from it.
    expect(compose.services.backend.build).to.equal('.');
    expect(compose.services.backend.image).to.not.include('alfredfrancis');
    const values = parse(read('helm/ai-chatbot-framework/values.yaml'));
    expect(values.image.backend).to.deep.equal({
      repository: 'your-registry/ai-chatbot-framework_backend',
      tag: 'integrations-1.0.0',
    });
    expect(read('helm/ai-chatbot-framework/templates/deployment-backend.yaml')).to.include(
      '.Values.image.backend.tag | default .Values.image.tag',
    );
    // No ${VAR:?}: it would stop every compose command (a backup, a logs) until all are set; the service refuses.
    expect(read('docker-compose.yml')).to.not.include(':?');
    expect(compose.services.gateway.image).to.equal('nginx:1.27-alpine');
    expect(compose.services['integrations-service'].environment.ALLOWED_HOSTS).to.equal('integrations-service');
    expect(compose.services['integrations-service'].sysctls).to.deep.equal({ 'net.ipv4.tcp_rmem': deployedTcpRmem() });
    expect(compose.secrets.gateway_htpasswd.file).to.equal('./scripts/nginx/gateway.htpasswd');
    const dev = parse(read('docker-compose.dev.yml'));
    expect(Object.keys(dev.services.app.environment)).to.include('INTEGRATIONS_SERVICE_URL');
    expect(dev.services['integrations-service']).to.have.property('image');
    expect(read('helm/ai-chatbot-framework/templates/deployment-backend.yaml'))
      .to.include('INTEGRATIONS_SERVICE_READ_TOKEN')
      .and.include('INTEGRATIONS_SERVICE_ADMIN_TOKEN');
    expect(parse(read('helm/ai-chatbot-framework/values.yaml')).integrations).to.have.keys('url', 'secretName');
    // The admin UI shows a refused save's reason (tested in a browser in test/browser/admin-ui.spec.ts).
    expect(read('frontend/app/services/integrations.tsx')).to.include('throw new Error(await refusalOf(response));');
    for (const form of ['FacebookMessenger', 'ChatWidget']) {
      expect(read(`frontend/app/admin/settings/integrations/${form}.tsx`))
        .to.include('setSaveError(error instanceof Error ? error.message : String(error));')
        .and.include('data-testid="save-error"');
    }
    expect(read('scripts/nginx/templates/default.conf.template')).to.equal(
      readFileSync(path.join(ROOT, 'ops/gateway/templates/default.conf.template'), 'utf8'),
    );
  });

  it('stops, naming the file and the line, on a checkout that is not the one it knows', () => {
    const dir = standIn({ ...STAND_IN, 'app/admin/integrations/routes.py': 'from .store import list_integrations\n' });
    const written = write(dir);
    expect(written.status).to.equal(1);
    expect(written.stderr).to.include('app/admin/integrations/routes.py').and.include('from . import store');
    expect(readdirSync(scratch), 'left in its temporary folder').to.deep.equal([]);
    expect(git(dir, 'worktree', 'list').trim().split('\n')).to.have.length(1);
  });
});
