"""Drop-in replacement for ai-chatbot-framework's ``app/admin/integrations/store.py``.

The chatbot's backend used to read and write the ``integrations`` collection itself; it now calls the
integrations-service over HTTP through this module, which keeps the old store's four ``async`` functions and
their return shapes:

    from app.admin.integrations.client import (
        list_integrations, get_integration, update_integration, ensure_default_integrations,
    )

It uses ``httpx`` (already in the chatbot's requirements): one ``httpx.AsyncClient`` per process, made on first
use, keeps its connections alive (the bot reads ``facebook`` on every Messenger message); close it on shutdown
with ``await aclose()`` (FastAPI: in the app's lifespan). Every call has one deadline for the whole of it. No
redirect is followed: a token never leaves for another host.

Configuration (environment, read at each call):
    INTEGRATIONS_SERVICE_URL          base URL of the service, e.g. http://integrations-service:8090 (required)
    INTEGRATIONS_SERVICE_READ_TOKEN   a READ_TOKENS token: every read (the bot runtime's, the admin UI's lists)
    INTEGRATIONS_SERVICE_ADMIN_TOKEN  an ADMIN_TOKENS token: writes and seeding
    INTEGRATIONS_SERVICE_TOKEN        used for either of the two above when it is not set
    INTEGRATIONS_SERVICE_TIMEOUT      seconds a whole call may take (default 5)

A wrong setup fails loudly: ``IntegrationsServiceMisconfigured`` names the URL and what is wrong (no URL, a
redirect, another server, a route this service does not have, a token it refuses). ``await check()`` says it
all at start, one line per problem. ``install_error_handlers(app)`` makes a FastAPI app answer every refusal
with the service's status and reason (a 422 in FastAPI's own ``{"detail": [...]}`` shape), and 503 with
Retry-After while the service cannot be reached.
"""

import asyncio
import logging
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

import httpx

__all__ = [
    "Integration",
    "IntegrationsServiceError",
    "IntegrationsServiceUnavailable",
    "IntegrationsServiceMisconfigured",
    "list_integrations",
    "get_integration",
    "update_integration",
    "ensure_default_integrations",
    "check",
    "check_at_start",
    "aclose",
    "install_error_handlers",
]

logger = logging.getLogger(__name__)

# The fields the service sets itself: in every record it answers, never sent back (tested against its /openapi.json).
SERVICE_SET_FIELDS = ("version", "createdAt", "updatedAt")

# An id a record can have (the service's rule); path segments that name a route of the service, not a record.
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RESERVED_IDS = frozenset({"ensure-defaults"})

_PROBLEM_PREFIX = "urn:problem-type:integrations-service:"
_RECORD_NOT_FOUND = _PROBLEM_PREFIX + "integration-not-found"


class IntegrationsServiceError(Exception):
    """The service refused the call. ``status`` is the HTTP status, ``detail`` the problem's detail, ``errors`` the
    field errors of a 422 (``[{"field": "/settings/secret", "message": "is required"}]``)."""

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        detail: Optional[str] = None,
        errors: Optional[list] = None,
        retry_after: Optional[str] = None,
    ):
        super().__init__(message)
        self.status = status
        self.detail = detail if detail is not None else message
        self.errors = errors or []
        self.retry_after = retry_after


class IntegrationsServiceUnavailable(IntegrationsServiceError):
    """The service could not be reached, did not answer within the deadline, or answered 503: retry shortly."""


class IntegrationsServiceMisconfigured(IntegrationsServiceError):
    """This process is not set up to talk to the service: no URL, a URL that is not the service's (a redirect, HTML,
    another server, a route it does not have), or a token it refuses. No retry mends it."""


class Integration(dict):
    """A record as the old store returned it: a dict that also reads as an object (``integration.status``,
    ``integration.settings["verify"]``), with pydantic's ``model_dump()``/``dict()``. ``stale`` is the age in
    seconds of a copy the service answered while its store was down (Warning: 110), else None."""

    stale: Optional[int] = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def model_dump(self, **_kwargs: Any) -> Dict[str, Any]:
        return dict(self)

    def dict(self, **_kwargs: Any) -> Dict[str, Any]:  # pydantic v1 spelling
        return dict(self)


# --- configuration ------------------------------------------------------------------------------------------


def _base_url() -> str:
    url = os.environ.get("INTEGRATIONS_SERVICE_URL", "").strip()
    if not url:
        raise IntegrationsServiceMisconfigured(
            "INTEGRATIONS_SERVICE_URL is not set: set it to the integrations-service's base URL, e.g. http://integrations-service:8090"
        )
    return url.rstrip("/")


def _timeout() -> float:
    return float(os.environ.get("INTEGRATIONS_SERVICE_TIMEOUT", "5"))


def _token(scope: str) -> Optional[str]:
    specific = os.environ.get(
        "INTEGRATIONS_SERVICE_ADMIN_TOKEN"
        if scope == "write"
        else "INTEGRATIONS_SERVICE_READ_TOKEN"
    )
    return specific or os.environ.get("INTEGRATIONS_SERVICE_TOKEN") or None


# --- the shared client --------------------------------------------------------------------------------------

_client: Optional[httpx.AsyncClient] = None
_client_loop: Optional[asyncio.AbstractEventLoop] = None


def _shared_client() -> httpx.AsyncClient:
    """One client per process (per event loop): its pool keeps connections to the service alive between calls."""
    global _client, _client_loop
    loop = asyncio.get_running_loop()
    if _client is None or _client_loop is not loop or _client.is_closed:
        _client = httpx.AsyncClient(
            follow_redirects=False,
            # The whole call is bounded by _call's deadline; these only keep a stuck phase from outliving it.
            timeout=httpx.Timeout(_timeout()),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={
                "Accept": "application/json",
                "User-Agent": "ai-chatbot-framework integrations_client",
            },
        )
        _client_loop = loop
    return _client


async def aclose() -> None:
    """Closes the shared client and its connections (call it when the app stops)."""
    global _client, _client_loop
    client, _client, _client_loop = _client, None, None
    if client is not None and not client.is_closed:
        await client.aclose()


# --- one call -----------------------------------------------------------------------------------------------

_stale_logged = set()


async def _call(
    method: str, path: str, scope: str, body: Optional[dict] = None
) -> Tuple[int, Any, httpx.Response]:
    """One call, bounded as a whole by INTEGRATIONS_SERVICE_TIMEOUT. Answers (status, parsed JSON, response) for a
    2xx or this service's record-404; raises for anything else."""
    url = _base_url() + path
    headers = {}
    token = _token(scope)
    if token:
        headers["Authorization"] = "Bearer " + token
    deadline = _timeout()
    try:
        response = await asyncio.wait_for(
            _shared_client().request(method, url, json=body, headers=headers),
            timeout=deadline,
        )
    except asyncio.TimeoutError:
        raise IntegrationsServiceUnavailable(
            "integrations-service at {} did not answer {} {} within {} s".format(
                _base_url(), method, path, deadline
            )
        ) from None
    except httpx.TransportError as error:
        raise IntegrationsServiceUnavailable(
            "integrations-service at {} could not be reached for {} {}: {}".format(
                _base_url(),
                method,
                path,
                type(error).__name__ + (": " + str(error) if str(error) else ""),
            )
        ) from None

    if 300 <= response.status_code < 400:
        raise IntegrationsServiceMisconfigured(
            "{} {} answered {} (a redirect to {}): not followed, so no token leaves for another host; "
            "set INTEGRATIONS_SERVICE_URL to the service itself".format(
                method,
                url,
                response.status_code,
                response.headers.get("location", "nowhere"),
            ),
            status=response.status_code,
        )
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in ("application/json", "application/problem+json"):
        raise IntegrationsServiceMisconfigured(
            "{} {} answered {} with {}: that is not integrations-service; check INTEGRATIONS_SERVICE_URL".format(
                method, url, response.status_code, content_type or "no content type"
            ),
            status=response.status_code,
        )
    try:
        payload = response.json()
    except ValueError:
        raise IntegrationsServiceMisconfigured(
            "{} {} answered {} with a body that is not JSON: check INTEGRATIONS_SERVICE_URL".format(
                method, url, response.status_code
            ),
            status=response.status_code,
        ) from None

    if response.status_code < 300:
        return response.status_code, payload, response
    problem = payload if isinstance(payload, dict) else {}
    if response.status_code == 404 and problem.get("type") == _RECORD_NOT_FOUND:
        return 404, None, response
    raise _refusal(method, url, response, problem)


def _refusal(
    method: str, url: str, response: httpx.Response, problem: Mapping[str, Any]
) -> IntegrationsServiceError:
    status = response.status_code
    detail = problem.get("detail") or problem.get("title") or response.reason_phrase
    errors = problem.get("errors") or []
    message = "integrations-service refused {} {} ({}): {}".format(
        method, url, status, detail
    )
    if errors:
        message += (
            " ["
            + "; ".join(
                "{} {}".format(e.get("field"), e.get("message")) for e in errors
            )
            + "]"
        )
    if status == 503:
        return IntegrationsServiceUnavailable(
            message,
            status=status,
            detail=detail,
            retry_after=response.headers.get("retry-after"),
        )
    if status == 404:
        # A route the service does not have: the URL's base or prefix is wrong, or it is another server.
        return IntegrationsServiceMisconfigured(
            "{} {} is not a route of integrations-service ({}): check INTEGRATIONS_SERVICE_URL".format(
                method, url, detail
            ),
            status=status,
            detail=detail,
        )
    if status in (401, 403):
        return IntegrationsServiceMisconfigured(
            message + ": check INTEGRATIONS_SERVICE_READ_TOKEN / _ADMIN_TOKEN",
            status=status,
            detail=detail,
        )
    return IntegrationsServiceError(
        message, status=status, detail=detail, errors=errors
    )


def _record(payload: Any, response: httpx.Response) -> Integration:
    record = Integration(payload)
    warning = response.headers.get("warning", "")
    integration_id = str(payload.get("id"))
    if warning.startswith("110"):
        record.stale = int(response.headers.get("age", "0") or 0)
        if integration_id not in _stale_logged:
            _stale_logged.add(integration_id)
            logger.warning(
                "integrations-service answered %s from a copy %s s old: its store did not answer",
                integration_id,
                record.stale,
            )
    else:
        _stale_logged.discard(integration_id)
    return record


def _addressable(integration_id: Any) -> bool:
    """Whether an id can name a record at all; the old store answered None for any other, without asking."""
    return (
        isinstance(integration_id, str)
        and bool(_ID.match(integration_id))
        and integration_id not in _RESERVED_IDS
    )


def _as_changes(integration: Any) -> Dict[str, Any]:
    """What the old store $set: the fields given (a dict, or a pydantic model's fields that were set), but those the
    service sets itself. A field the service does not know is sent: it answers 422 naming it, never a silent drop."""
    if isinstance(integration, Mapping):
        given = dict(integration)
    elif hasattr(integration, "model_dump"):
        given = integration.model_dump(exclude_unset=True)
    elif hasattr(integration, "dict"):
        given = integration.dict(exclude_unset=True)
    else:
        raise TypeError(
            "update_integration takes a dict or a pydantic model, not {}".format(
                type(integration).__name__
            )
        )
    return {key: value for key, value in given.items() if key not in SERVICE_SET_FIELDS}


# --- the old store's four functions -------------------------------------------------------------------------


async def list_integrations() -> List[Integration]:
    """Every integration, sorted by id."""
    _, payload, response = await _call("GET", "/integrations/", "read")
    return [_record(item, response) for item in payload]


async def get_integration(integration_id: str) -> Optional[Integration]:
    """The integration, or None when there is no such id."""
    if not _addressable(integration_id):
        return None
    status, payload, response = await _call(
        "GET", "/integrations/" + quote(integration_id, safe=""), "read"
    )
    return None if status == 404 else _record(payload, response)


async def update_integration(
    integration_id: str, integration: Any
) -> Optional[Integration]:
    """Changes the fields given (as the old store's ``$set`` of ``model_dump(exclude_unset=True)``) and answers the
    record as stored, or None when there is no such id. ``settings``, when given, replaces the whole settings object."""
    changes = _as_changes(integration)
    if not _addressable(integration_id):
        return None
    status, payload, response = await _call(
        "PATCH", "/integrations/" + quote(integration_id, safe=""), "write", changes
    )
    return None if status == 404 else _record(payload, response)


async def ensure_default_integrations() -> Dict[str, List[str]]:
    """Inserts whichever default integration is missing (the service also does it at every start); answers
    ``{"created": [...], "existing": [...]}``."""
    _, payload, _ = await _call("POST", "/integrations/ensure-defaults", "write", {})
    return payload


# --- start-up check -----------------------------------------------------------------------------------------


async def check() -> Dict[str, Any]:
    """Verifies the setup at start: the URL is integrations-service (and its version), the read token reads, the admin
    token writes. Raises IntegrationsServiceMisconfigured with one line per problem, or IntegrationsServiceUnavailable
    when the service cannot be reached; answers what it found."""
    base = _base_url()
    found: Dict[str, Any] = {"url": base}
    problems: List[str] = []
    _, document, _ = await _call("GET", "/openapi.json", "none")
    info = document.get("info", {}) if isinstance(document, dict) else {}
    if info.get("title") != "integrations-service":
        raise IntegrationsServiceMisconfigured(
            "{}/openapi.json is not integrations-service's document (title {!r}): check INTEGRATIONS_SERVICE_URL".format(
                base, info.get("title")
            )
        )
    found["version"] = info.get("version")
    for scope, variable, probe in (
        ("read", "INTEGRATIONS_SERVICE_READ_TOKEN", ("GET", "/integrations/", None)),
        # An id no record can have: a token that may write gets the record's 404, one that may not its 401/403. Nothing changes.
        (
            "write",
            "INTEGRATIONS_SERVICE_ADMIN_TOKEN",
            ("PATCH", "/integrations/-setup-check-", {}),
        ),
    ):
        try:
            await _call(probe[0], probe[1], scope, probe[2])
            found[scope] = "ok"
        except IntegrationsServiceMisconfigured as error:
            what = (
                "not valid"
                if error.status == 401
                else "may not {}".format(scope)
                if error.status == 403
                else str(error)
            )
            problems.append(
                "{} (or INTEGRATIONS_SERVICE_TOKEN): {}".format(variable, what)
            )
    if problems:
        raise IntegrationsServiceMisconfigured(
            "integrations-service at {} refuses this setup:\n".format(base)
            + "\n".join(problems)
        )
    return found


async def check_at_start() -> None:
    """check() for an app's start (its lifespan): a wrong setup stops the start, with what to fix; a service that
    does not answer yet is logged, and the app starts (calls then answer 503 until it does)."""
    try:
        found = await check()
        logger.info(
            "integrations-service %s at %s: reads and writes allowed",
            found.get("version"),
            found["url"],
        )
    except IntegrationsServiceUnavailable as error:
        logger.warning(
            "integrations-service is not answering yet (%s); integrations calls answer 503 until it does",
            error,
        )


# --- FastAPI ------------------------------------------------------------------------------------------------


def install_error_handlers(app: Any) -> None:
    """Makes a FastAPI (or Starlette) app answer the client's errors with the service's status and reason, instead of
    a bare 500: a 422 in FastAPI's own shape (the admin UI shows it), 503 with Retry-After while the service cannot be
    reached (Facebook retries), 502 for a wrong setup of this process (named in the log)."""
    from starlette.responses import JSONResponse

    async def answer(_request: Any, error: IntegrationsServiceError) -> Any:
        if isinstance(error, IntegrationsServiceUnavailable):
            logger.warning("%s", error)
            return JSONResponse(
                {"detail": str(error.detail)},
                status_code=503,
                headers={"Retry-After": error.retry_after or "1"},
            )
        if isinstance(error, IntegrationsServiceMisconfigured):
            logger.error("%s", error)
            return JSONResponse(
                {
                    "detail": "the integrations service is not set up right: {}".format(
                        error
                    )
                },
                status_code=502,
            )
        if error.status == 422 and error.errors:
            detail = [
                {
                    "loc": ["body"]
                    + [part for part in str(e.get("field", "")).split("/") if part],
                    "msg": e.get("message"),
                    "type": "value_error",
                }
                for e in error.errors
            ]
            return JSONResponse({"detail": detail}, status_code=422)
        return JSONResponse({"detail": error.detail}, status_code=error.status or 502)

    app.add_exception_handler(IntegrationsServiceError, answer)
