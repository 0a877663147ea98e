#!/usr/bin/env python3
"""Writes the patch that moves ai-chatbot-framework (at commit 5f57f99) onto integrations-service.

    python3 clients/python/chatbot_patch.py /path/to/ai-chatbot-framework > integrations-service.patch
    cd /path/to/ai-chatbot-framework && git apply integrations-service.patch

It makes, in a temporary worktree of your checkout at that commit, every change MIGRATION.md lists, and prints them
as one `git diff` (your checkout itself is not touched):
  - the client module added (app/admin/integrations/client.py, this folder's integrations_client.py);
  - the three imports of the old store swapped for the client (admin routes, Facebook channel, app/main.py);
  - manage.py migrate's seeding removed (the service ensures the defaults at its every start);
  - app/admin/integrations/store.py removed (the service is the only writer now);
  - app/main.py: the client's error handlers installed, its start-up check and close in the lifespan;
  - the variables the backend needs in docker-compose.yml, docker-compose.dev.yml and the helm chart, the service
    itself in both compose files, MongoDB 4.4 (the service needs it);
  - the gateway: nginx 1.27 (1.13 predates the template step), scripts/nginx/templates/default.conf.template
    (ops/gateway's, with sign-in), the htpasswd as a Compose secret.
Each edit finds its place by a line of the chatbot as it is at 5f57f99, and stops, saying which, if that line is
not there exactly once (another commit): nothing of the chatbot's own code is kept here.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COMMIT = "5f57f99"
HERE = Path(__file__).resolve().parent
GATEWAY_TEMPLATE = (
    HERE.parent.parent / "ops" / "gateway" / "templates" / "default.conf.template"
)

BACKEND_VARIABLES = """\
      # integrations-service (MIGRATION.md): reads with the read token, writes and seeding with the admin token.
      INTEGRATIONS_SERVICE_URL: http://integrations-service:8090
      INTEGRATIONS_SERVICE_READ_TOKEN: ${INTEGRATIONS_READ_TOKEN:-}
      INTEGRATIONS_SERVICE_ADMIN_TOKEN: ${INTEGRATIONS_ADMIN_TOKEN:-}
"""

SERVICE = """\
  integrations-service:
    image: ${INTEGRATIONS_SERVICE_IMAGE:-integrations-service:1.0.0}
    hostname: integrations-service
    restart: always
    environment:
      NODE_ENV: production
      MONGODB_URI: mongodb://mongodb:27017
      MONGODB_DB: ai-chatbot-framework
      HOST: 0.0.0.0
      ALLOWED_HOSTS: integrations-service
      ADMIN_TOKENS: ${INTEGRATIONS_ADMIN_TOKEN:-}
      READ_TOKENS: ${INTEGRATIONS_READ_TOKEN:-}
      # During a rotation INTEGRATIONS_GATEWAY_TOKENS lists the new and the old; the gateway sends one of them.
      GATEWAY_TOKENS: ${INTEGRATIONS_GATEWAY_TOKENS:-${INTEGRATIONS_GATEWAY_TOKEN:-}}
      MIGRATE_ON_START: "true"
    # At most 8 KiB of a connection's bytes held by the kernel for the service, as its ops/ sets it.
    sysctls:
      net.ipv4.tcp_rmem: "4096 8192 8192"
    depends_on:
      - mongodb
"""

GATEWAY = """\
  # People sign in (scripts/nginx/templates, from integrations-service's ops/gateway); before `up`:
  #   printf '%s:%s\\n' admin "$(openssl passwd -apr1)" >> scripts/nginx/gateway.htpasswd
  #   export INTEGRATIONS_GATEWAY_TOKEN=$(openssl rand -hex 32)
  gateway:
    image: nginx:1.27-alpine
    hostname: gateway
    volumes:
      - ./scripts/nginx/templates:/etc/nginx/templates:ro
    secrets:
      - gateway_htpasswd
    environment:
      INTEGRATIONS_UPSTREAM: integrations-service:8090
      INTEGRATIONS_GATEWAY_TOKEN: ${INTEGRATIONS_GATEWAY_TOKEN:-}
      BACKEND_UPSTREAM: backend:80
      FRONTEND_UPSTREAM: frontend:3000
      GATEWAY_LISTEN: "80"
      GATEWAY_SERVER_NAME: ${GATEWAY_SERVER_NAME:-localhost}
      GATEWAY_HTPASSWD_FILE: /run/secrets/gateway_htpasswd
    ports:
      - "${GATEWAY_PUBLISH:-127.0.0.1}:8080:80"
    depends_on:
      - backend
      - frontend
      - integrations-service

"""

# The admin UI's save: a refusal of the service (its detail and field errors, through the backend or the gateway,
# problem+json or FastAPI's shape) or a 429/503 becomes the error's message, which the forms show.
UI_REFUSAL = """
/** What a refused save says: the service's detail and each field's error, or "not saved, retry" when busy. */
async function refusalOf(response: Response): Promise<string> {
  if (response.status === 429 || response.status === 503) {
    return 'Not saved: the integrations service is busy or unavailable. Retry in a moment.';
  }
  let body: { detail?: unknown; errors?: { field?: string; message?: string }[] } = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says it
  }
  const fields = Array.isArray(body.detail)
    ? (body.detail as { loc?: unknown[]; msg?: string }[]).map((e) => `${(e.loc ?? []).slice(1).join('.')}: ${e.msg}`)
    : (body.errors ?? []).map((e) => `${e.field}: ${e.message}`);
  const detail = typeof body.detail === 'string' ? body.detail : `The save was refused (${response.status}).`;
  return `Not saved. ${[detail, ...fields].join(' ')}`;
}
"""

SAVE_ERROR_STATE = (
    "  const [saveError, setSaveError] = useState<string | null>(null);\n"
)
SAVE_ERROR_SHOWN = '{saveError && (<p role="alert" className="text-sm text-red-600" data-testid="save-error">{saveError}</p>)}\n'
SAVE_FAILED = (
    "      setSaveError(error instanceof Error ? error.message : String(error));\n"
)

HELM_ENV = """\
            - name: INTEGRATIONS_SERVICE_URL
              value: {{ .Values.integrations.url | quote }}
            - name: INTEGRATIONS_SERVICE_READ_TOKEN
              valueFrom:
                secretKeyRef:
                  name: {{ .Values.integrations.secretName }}
                  key: READ_TOKEN
            - name: INTEGRATIONS_SERVICE_ADMIN_TOKEN
              valueFrom:
                secretKeyRef:
                  name: {{ .Values.integrations.secretName }}
                  key: ADMIN_TOKEN
"""

HELM_VALUES = """
# integrations-service (deployed from its own manifests): the backend's URL for it, and the Secret holding the
# backend's tokens for it (keys READ_TOKEN and ADMIN_TOKEN: one of its READ_TOKENS and one of its ADMIN_TOKENS).
integrations:
  url: "http://integrations-service"
  secretName: ai-chatbot-framework-integrations
"""


class Mismatch(Exception):
    pass


def replace_once(text: str, anchor: str, replacement: str, where: str) -> str:
    if text.count(anchor) != 1:
        raise Mismatch(
            "{}: expected {!r} exactly once (is this the chatbot at {}?)".format(
                where, anchor.strip()[:80], COMMIT
            )
        )
    return text.replace(anchor, replacement)


def edit(root: Path, relative: str, *changes) -> None:
    path = root / relative
    text = path.read_text()
    for anchor, replacement in changes:
        text = replace_once(text, anchor, replacement, relative)
    path.write_text(text)


def replace_block(
    root: Path, relative: str, starts: str, ends_before: str, replacement: str
) -> None:
    """Replaces the lines from the one that starts with `starts` up to (not including) the first line `ends_before`."""
    path = root / relative
    text = path.read_text()
    match = re.search(
        r"(?ms)^" + re.escape(starts) + r".*?(?=^" + re.escape(ends_before) + r")", text
    )
    if not match:
        raise Mismatch(
            "{}: no block from {!r} to {!r} (is this the chatbot at {}?)".format(
                relative, starts, ends_before, COMMIT
            )
        )
    path.write_text(text[: match.start()] + replacement + text[match.end() :])


def apply_changes(root: Path) -> None:
    shutil.copyfile(
        HERE / "integrations_client.py", root / "app/admin/integrations/client.py"
    )
    edit(
        root,
        "app/admin/integrations/routes.py",
        ("from . import store\n", "from . import client as store\n"),
    )
    edit(
        root,
        "app/bot/channels/facebook/routes.py",
        (
            "from app.admin.integrations.store import get_integration\n",
            "from app.admin.integrations.client import get_integration\n",
        ),
    )
    edit(
        root,
        "manage.py",
        (
            "        from app.admin.integrations.store import ensure_default_integrations\n",
            "",
        ),
        (
            "        await ensure_default_integrations()\n",
            "        # The default integrations are ensured by integrations-service, at its every start.\n",
        ),
    )
    (root / "app/admin/integrations/store.py").unlink()
    edit(
        root,
        "app/main.py",
        (
            "from app.dependencies import init_dialogue_manager\n",
            "from app.dependencies import init_dialogue_manager\nfrom app.admin.integrations import client as integrations_client\n",
        ),
        (
            "    await init_dialogue_manager()\n    yield\n    database_client.close()\n",
            "    await init_dialogue_manager()\n    await integrations_client.check_at_start()\n    yield\n    database_client.close()\n    await integrations_client.aclose()\n",
        ),
        (
            'app = FastAPI(title="AI Chatbot Framework", lifespan=lifespan)\n',
            'app = FastAPI(title="AI Chatbot Framework", lifespan=lifespan)\n# A refusal of integrations-service reaches the caller with its status and reason (422 with its fields, 503).\n'
            "integrations_client.install_error_handlers(app)\n",
        ),
    )

    edit(
        root,
        "docker-compose.yml",
        # The backend built from this (patched) source: the published image still has the old store.
        (
            "    image: alfredfrancis/ai-chatbot-framework_backend:latest\n",
            "    build: .\n    image: ${BACKEND_IMAGE:-ai-chatbot-framework_backend:integrations}\n",
        ),
        (
            "    image: mongo:4.2.20\n",
            "    # 4.4 or later: integrations-service needs it (MIGRATION.md, step 1).\n    image: mongo:4.4\n",
        ),
        (
            "      APPLICATION_ENV: Production\n",
            "      APPLICATION_ENV: Production\n" + BACKEND_VARIABLES,
        ),
        (
            "      - mongodb\n\n  mongodb:\n",
            "      - mongodb\n      - integrations-service\n\n"
            + SERVICE
            + "\n  mongodb:\n",
        ),
    )
    replace_block(root, "docker-compose.yml", "  gateway:\n", "volumes:\n", GATEWAY)
    edit(
        root,
        "docker-compose.yml",
        (
            "\nvolumes:\n",
            "\nsecrets:\n  gateway_htpasswd:\n    file: ./scripts/nginx/gateway.htpasswd\n\nvolumes:\n",
        ),
    )

    edit(
        root,
        "docker-compose.dev.yml",
        (
            "    image: mongo:4.2.20\n",
            "    # 4.4 or later: integrations-service needs it (MIGRATION.md, step 1).\n    image: mongo:4.4\n",
        ),
        (
            "      APPLICATION_ENV: Development\n",
            "      APPLICATION_ENV: Development\n" + BACKEND_VARIABLES,
        ),
        (
            "\nvolumes:\n",
            "\n"
            + SERVICE.replace("NODE_ENV: production", "NODE_ENV: development")
            .replace("restart: always", "restart: unless-stopped")
            .replace(
                "ALLOWED_HOSTS: integrations-service",
                "ALLOWED_HOSTS: integrations-service,localhost:8090,127.0.0.1:8090",
            )
            + '    ports:\n      - "127.0.0.1:8090:8090"\n\nvolumes:\n',
        ),
    )

    edit(
        root,
        "helm/ai-chatbot-framework/templates/deployment-backend.yaml",
        (
            "            - name: MONGO_URL\n              value: {{.Values.mongodb.uri}}\n",
            "            - name: MONGO_URL\n              value: {{.Values.mongodb.uri}}\n"
            + HELM_ENV,
        ),
    )
    # The backend's own tag (the patched build), the chart's shared one for the frontend.
    backend = root / "helm/ai-chatbot-framework/templates/deployment-backend.yaml"
    image = 'image: "{{ .Values.image.backend.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"'
    text = backend.read_text()
    if text.count(image) != 2:
        raise Mismatch(
            "{}: expected the backend's image line twice (is this the chatbot at {}?)".format(
                backend.name, COMMIT
            )
        )
    backend.write_text(
        text.replace(
            image,
            'image: "{{ .Values.image.backend.repository }}:{{ .Values.image.backend.tag | default .Values.image.tag | default .Chart.AppVersion }}"',
        )
    )
    edit(
        root,
        "helm/ai-chatbot-framework/values.yaml",
        # The backend image built from this (patched) source and pushed (MIGRATION.md, step 5): the published
        # one still has the old store.
        (
            '    repository: "alfredfrancis/ai-chatbot-framework_backend"\n',
            '    repository: "your-registry/ai-chatbot-framework_backend"  # docker build -t ...:integrations-1.0.0 .\n'
            '    tag: "integrations-1.0.0"\n',
        ),
    )
    values = root / "helm/ai-chatbot-framework/values.yaml"
    values.write_text(values.read_text().rstrip("\n") + "\n" + HELM_VALUES)

    # The admin UI shows every refusal of a save, and clears it when a save goes through.
    edit(
        root,
        "frontend/app/services/integrations.tsx",
        (
            "  if (!response.ok) {\n    throw new Error('Failed to update integration');\n  }\n",
            "  if (!response.ok) {\n    throw new Error(await refusalOf(response));\n  }\n",
        ),
        (
            'import { API_BASE_URL } from "./base";\n',
            'import { API_BASE_URL } from "./base";\n' + UI_REFUSAL,
        ),
    )
    facebook = "frontend/app/admin/settings/integrations/FacebookMessenger.tsx"
    edit(
        root,
        facebook,
        (
            "  const [copied, setCopied] = useState(false);\n",
            "  const [copied, setCopied] = useState(false);\n" + SAVE_ERROR_STATE,
        ),
        (
            "      onUpdate?.(updatedIntegration);\n    } catch (error) {\n      console.error('Failed to update integration:', error);\n    }\n  };\n\n  const handleToggle",
            "      onUpdate?.(updatedIntegration);\n      setSaveError(null);\n    } catch (error) {\n      console.error('Failed to update integration:', error);\n"
            + SAVE_FAILED
            + "    }\n  };\n\n  const handleToggle",
        ),
        (
            "      console.error('Failed to update integration:', error);\n      setIsEnabled(!checked); // Revert on error\n",
            "      console.error('Failed to update integration:', error);\n"
            + SAVE_FAILED
            + "      setIsEnabled(!checked); // Revert on error\n",
        ),
        (
            "          Connect your Facebook page to start receiving messages from Facebook Messenger.\n        </p>\n",
            "          Connect your Facebook page to start receiving messages from Facebook Messenger.\n        </p>\n        "
            + SAVE_ERROR_SHOWN,
        ),
    )
    widget = "frontend/app/admin/settings/integrations/ChatWidget.tsx"
    edit(
        root,
        widget,
        (
            "  const handleCopy = () => {\n",
            SAVE_ERROR_STATE + "\n  const handleCopy = () => {\n",
        ),
        (
            "      onUpdate?.(updatedIntegration);\n    } catch (error) {\n      console.error('Failed to update integration:', error);\n      setIsEnabled(!checked); // Revert on error\n",
            "      onUpdate?.(updatedIntegration);\n      setSaveError(null);\n    } catch (error) {\n      console.error('Failed to update integration:', error);\n"
            + SAVE_FAILED
            + "      setIsEnabled(!checked); // Revert on error\n",
        ),
        (
            '      <p className="text-sm text-gray-600 mb-4">\n',
            "      "
            + SAVE_ERROR_SHOWN
            + '      <p className="text-sm text-gray-600 mb-4">\n',
        ),
    )

    templates = root / "scripts/nginx/templates"
    templates.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(GATEWAY_TEMPLATE, templates / "default.conf.template")
    (root / "scripts/nginx/default.conf").unlink()
    gitignore = root / ".gitignore"
    gitignore.write_text(
        gitignore.read_text().rstrip("\n")
        + "\n# the gateway's htpasswd (a secret)\nscripts/nginx/gateway.htpasswd\n"
    )


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def main(argv: list) -> int:
    args = argv[1:]
    commit = COMMIT
    if (
        len(args) == 3 and args[0] == "--commit"
    ):  # another commit of the same shape (the tests' stand-in)
        commit, args = args[1], args[2:]
    if len(args) != 1:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    checkout = Path(args[0]).resolve()
    # The worktree and the folder holding it go when the patch is written, whatever happens.
    with tempfile.TemporaryDirectory(prefix="chatbot-patch-") as parent:
        work = Path(parent) / "tree"
        git("worktree", "add", "--detach", str(work), commit, cwd=checkout)
        try:
            apply_changes(work)
            git("add", "-A", cwd=work)
            sys.stdout.write(git("diff", "--cached", "--binary", cwd=work))
            return 0
        except Mismatch as error:
            print("chatbot_patch: {}".format(error), file=sys.stderr)
            return 1
        finally:
            git("worktree", "remove", "--force", str(work), cwd=checkout)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
