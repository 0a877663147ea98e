"""Drop-in replacement for ai-chatbot-framework's ``app/admin/integrations/store.py``.

The chatbot's backend used to read and write the ``integrations`` collection itself; it now calls the
integrations-service over HTTP through this module, which keeps the old store's four ``async`` functions
and their return shapes:

    from integrations_client import (
        list_integrations, get_integration, update_integration, ensure_default_integrations,
    )

Standard library only (the chatbot adds no dependency), Python >= 3.9. Blocking HTTP runs in a worker
thread (``asyncio.to_thread``), never on the event loop.

Configuration (environment, read at each call):
    INTEGRATIONS_SERVICE_URL      base URL of the service (default http://localhost:8080)
    INTEGRATIONS_SERVICE_TOKEN    bearer token: a READ_TOKENS token for the bot runtime, an ADMIN_TOKENS
                                  token where the backend writes (optional when the service runs open)
    INTEGRATIONS_SERVICE_TIMEOUT  seconds per request (default 5)
"""

import asyncio
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Mapping, Optional

__all__ = [
    "Integration",
    "IntegrationsServiceError",
    "IntegrationsServiceUnavailable",
    "list_integrations",
    "get_integration",
    "update_integration",
    "ensure_default_integrations",
]

# The fields the old store's model had that a write may change; anything else in a dict is not sent.
WRITABLE_FIELDS = ("name", "description", "status", "settings")


class IntegrationsServiceError(Exception):
    """The service refused the call. ``status`` is the HTTP status, ``detail`` the problem's detail,
    ``errors`` the field errors of a 422 (``[{"field": "/settings/secret", "message": "is required"}]``)."""

    def __init__(self, message: str, status: Optional[int] = None, detail: Optional[str] = None, errors: Optional[list] = None):
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.errors = errors or []


class IntegrationsServiceUnavailable(IntegrationsServiceError):
    """The service could not be reached, did not answer in time, or answered 503 (retry shortly)."""


class Integration(dict):
    """A record as the old store returned it: a dict that also reads as an object
    (``integration.status``, ``integration.settings["verify"]``), with pydantic's ``model_dump()``/``dict()``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def model_dump(self, **_kwargs: Any) -> Dict[str, Any]:
        return dict(self)

    def dict(self, **_kwargs: Any) -> Dict[str, Any]:  # pydantic v1 spelling
        return dict(self)


def _base_url() -> str:
    return os.environ.get("INTEGRATIONS_SERVICE_URL", "http://localhost:8080").rstrip("/")


def _timeout() -> float:
    return float(os.environ.get("INTEGRATIONS_SERVICE_TIMEOUT", "5"))


def _call(method: str, path: str, body: Optional[dict] = None) -> Any:
    """One blocking HTTP call; answers the parsed JSON body, or None for 404. Raises on anything else."""
    url = _base_url() + path
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    token = os.environ.get("INTEGRATIONS_SERVICE_TOKEN")
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=_timeout()) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise _problem(method, url, error) from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise IntegrationsServiceUnavailable(
            "integrations-service at {} did not answer {} {}: {}".format(_base_url(), method, path, reason)
        ) from None


def _problem(method: str, url: str, error: "urllib.error.HTTPError") -> IntegrationsServiceError:
    try:
        problem = json.loads(error.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        problem = {}
    detail = problem.get("detail") or error.reason
    errors = problem.get("errors") or []
    message = "integrations-service refused {} {} ({}): {}".format(method, url, error.code, detail)
    if errors:
        message += " [" + "; ".join("{} {}".format(e.get("field"), e.get("message")) for e in errors) + "]"
    kind = IntegrationsServiceUnavailable if error.code == 503 else IntegrationsServiceError
    return kind(message, status=error.code, detail=detail, errors=errors)


def _path_id(integration_id: str) -> str:
    return urllib.parse.quote(str(integration_id), safe="")


def _as_changes(integration: Any) -> Dict[str, Any]:
    """What the old store $set: the fields given (a dict, or a pydantic model's fields that were set)."""
    if isinstance(integration, Mapping):
        given = dict(integration)
    elif hasattr(integration, "model_dump"):
        given = integration.model_dump(exclude_unset=True)
    elif hasattr(integration, "dict"):
        given = integration.dict(exclude_unset=True)
    else:
        raise TypeError("update_integration takes a dict or a pydantic model, not {}".format(type(integration).__name__))
    return {key: value for key, value in given.items() if key in WRITABLE_FIELDS}


async def list_integrations() -> List[Integration]:
    """Every integration, sorted by id."""
    records = await asyncio.to_thread(_call, "GET", "/integrations/")
    return [Integration(record) for record in records or []]


async def get_integration(integration_id: str) -> Optional[Integration]:
    """The integration, or None when there is no such id."""
    record = await asyncio.to_thread(_call, "GET", "/integrations/" + _path_id(integration_id))
    return None if record is None else Integration(record)


async def update_integration(integration_id: str, integration: Any) -> Optional[Integration]:
    """Changes the fields given (as the old store's ``$set`` of ``model_dump(exclude_unset=True)``) and
    answers the record as stored, or None when there is no such id. ``settings``, when given, replaces
    the whole settings object."""
    changes = _as_changes(integration)
    record = await asyncio.to_thread(_call, "PATCH", "/integrations/" + _path_id(integration_id), changes)
    return None if record is None else Integration(record)


async def ensure_default_integrations() -> Dict[str, List[str]]:
    """Inserts whichever default integration is missing (the service also does it at every start);
    answers ``{"created": [...], "existing": [...]}``."""
    return await asyncio.to_thread(_call, "POST", "/integrations/ensure-defaults", {})
