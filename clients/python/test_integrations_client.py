"""Tests of integrations_client against a running integrations-service (started by `npm test`, see
test/python/client.spec.ts), as the chatbot's backend and bot runtime call it, and against small servers of its
own for what a real service will not do (trickle bytes, redirect, stall, answer HTML).

Environment: INTEGRATIONS_SERVICE_URL, TEST_ADMIN_TOKEN, TEST_READ_TOKEN. Needs httpx (the chatbot's own
dependency); the error-handler tests need fastapi.
"""

import asyncio
import json
import os
import time
import unittest

import httpx

import integrations_client as client

try:
    import fastapi
except ImportError:  # the handler tests say they skipped
    fastapi = None

SERVICE = os.environ["INTEGRATIONS_SERVICE_URL"]
ADMIN = os.environ["TEST_ADMIN_TOKEN"]
READ = os.environ["TEST_READ_TOKEN"]


class Server:
    """A TCP server on 127.0.0.1 for one test, handling each connection with `handle(reader, writer)`."""

    def __init__(self, handle):
        self.handle = handle
        self.connections = 0
        self.requests = []

    async def __aenter__(self):
        async def on_connection(reader, writer):
            self.connections += 1
            try:
                await self.handle(self, reader, writer)
            except (
                ConnectionError,
                asyncio.CancelledError,
                asyncio.IncompleteReadError,
            ):
                pass  # the client closed the connection
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
        self.url = "http://127.0.0.1:{}".format(self.server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *_):
        self.server.close()


async def read_request(server, reader):
    head = await reader.readuntil(b"\r\n\r\n")
    server.requests.append(head.decode("latin1"))
    return head


def response(status, headers, body=b""):
    lines = (
        ["HTTP/1.1 {}".format(status)]
        + ["{}: {}".format(k, v) for k, v in headers.items()]
        + ["Content-Length: {}".format(len(body)), "", ""]
    )
    return "\r\n".join(lines).encode() + body


def answering(status, headers, body=b""):
    """A connection handler that reads one request and answers it with this response."""

    async def handle(server, reader, writer):
        await read_request(server, reader)
        writer.write(response(status, headers, body))
        await writer.drain()

    return handle


async def forward(reader, writer):
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def proxy_to(target):
    """A TCP proxy to `target` (host, port): it counts the connections the client opens, from outside the client."""

    async def handle(_server, reader, writer):
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        await asyncio.gather(
            forward(reader, upstream_writer), forward(upstream_reader, writer)
        )

    return handle


class ClientTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.saved = dict(os.environ)
        os.environ["INTEGRATIONS_SERVICE_READ_TOKEN"] = READ
        os.environ["INTEGRATIONS_SERVICE_ADMIN_TOKEN"] = ADMIN

    async def asyncSetUp(self):
        # IsolatedAsyncioTestCase runs its loop in debug mode, several times slower: run it as an app does.
        asyncio.get_running_loop().set_debug(False)

    async def asyncTearDown(self):
        await client.aclose()

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved)

    # --- the old store's functions and shapes -------------------------------------------------------------

    async def test_lists_every_integration_sorted_with_the_old_field_names(self):
        integrations = await client.list_integrations()
        self.assertEqual([i.id for i in integrations], ["chat_widget", "facebook"])
        facebook = integrations[1]
        self.assertEqual(facebook["name"], facebook.name)
        for field in ("id", "name", "description", "status", "settings"):
            self.assertIn(field, facebook)
        self.assertIsNone(facebook.stale)

    async def test_gets_one_as_the_bot_runtime_uses_it(self):
        facebook = await client.get_integration("facebook")
        self.assertIsInstance(facebook.status, bool)
        self.assertEqual(
            set(facebook.settings), {"verify", "secret", "page_access_token"}
        )
        self.assertEqual(facebook.settings["verify"], facebook["settings"]["verify"])

    async def test_answers_none_for_an_unknown_id_and_for_ids_the_old_store_could_never_have_held(
        self,
    ):
        self.assertIsNone(await client.get_integration("telegram"))
        self.assertIsNone(await client.update_integration("telegram", {"status": True}))
        os.environ["INTEGRATIONS_SERVICE_URL"] = (
            "http://127.0.0.1:9"  # never asked for these
        )
        for never in ("", "ensure-defaults", "../admin", "Facebook", None, 42):
            self.assertIsNone(await client.get_integration(never), repr(never))
            self.assertIsNone(
                await client.update_integration(never, {"status": True}), repr(never)
            )

    async def test_updates_from_a_dict_as_the_admin_routes_pass_it(self):
        current = await client.get_integration("chat_widget")
        updated = await client.update_integration(
            "chat_widget", dict(current, settings={"color": "red"})
        )
        self.assertEqual(updated.settings, {"color": "red"})
        self.assertEqual(updated.version, current.version + 1)
        self.assertEqual(
            (await client.get_integration("chat_widget")).settings, {"color": "red"}
        )

    async def test_updates_from_a_pydantic_v2_model_with_only_the_fields_set(self):
        class Model:  # what pydantic's model_dump(exclude_unset=True) answers, without pydantic
            def model_dump(self, exclude_unset=False):
                assert exclude_unset
                return {"status": True}

        before = await client.get_integration("chat_widget")
        updated = await client.update_integration("chat_widget", Model())
        self.assertTrue(updated.status)
        self.assertEqual(updated.settings, before.settings)

    async def test_sends_a_field_it_does_not_know_and_raises_the_service_s_422_naming_it_never_a_silent_drop(
        self,
    ):
        with self.assertRaises(client.IntegrationsServiceError) as raised:
            await client.update_integration("chat_widget", {"colour": "red"})
        self.assertEqual(raised.exception.status, 422)
        self.assertEqual(
            raised.exception.errors,
            [{"field": "/colour", "message": "is not a known field"}],
        )

    async def test_ensures_the_defaults_and_says_which_existed(self):
        self.assertEqual(
            await client.ensure_default_integrations(),
            {"created": [], "existing": ["facebook", "chat_widget"]},
        )

    # --- least privilege ----------------------------------------------------------------------------------

    async def test_reads_with_the_read_token_and_writes_with_the_admin_token(self):
        self.assertIsNotNone(await client.get_integration("facebook"))
        await client.update_integration("chat_widget", {"status": True})
        os.environ["INTEGRATIONS_SERVICE_ADMIN_TOKEN"] = (
            READ  # a read token where writes need the admin one
        )
        with self.assertRaises(client.IntegrationsServiceMisconfigured) as raised:
            await client.update_integration("chat_widget", {"status": False})
        self.assertEqual(raised.exception.status, 403)
        self.assertIn(
            "INTEGRATIONS_SERVICE_READ_TOKEN / _ADMIN_TOKEN", str(raised.exception)
        )

    async def test_falls_back_to_one_token_for_both(self):
        del os.environ["INTEGRATIONS_SERVICE_READ_TOKEN"]
        del os.environ["INTEGRATIONS_SERVICE_ADMIN_TOKEN"]
        os.environ["INTEGRATIONS_SERVICE_TOKEN"] = ADMIN
        self.assertIsNotNone(await client.get_integration("facebook"))
        self.assertTrue(
            (await client.update_integration("chat_widget", {"status": True})).status
        )

    # --- a wrong setup fails loudly -----------------------------------------------------------------------

    async def test_requires_the_url_and_names_the_variable(self):
        del os.environ["INTEGRATIONS_SERVICE_URL"]
        with self.assertRaises(client.IntegrationsServiceMisconfigured) as raised:
            await client.get_integration("facebook")
        self.assertIn("INTEGRATIONS_SERVICE_URL is not set", str(raised.exception))

    async def test_tells_a_missing_route_a_wrong_prefix_from_a_missing_record(self):
        os.environ["INTEGRATIONS_SERVICE_URL"] = SERVICE + "/api"
        with self.assertRaises(client.IntegrationsServiceMisconfigured) as raised:
            await client.get_integration("facebook")
        self.assertIn(SERVICE + "/api/integrations/facebook", str(raised.exception))
        self.assertIn("not a route", str(raised.exception))

    async def test_refuses_another_server_answering_html_naming_the_url(self):
        async with Server(
            answering(
                "200 OK",
                {"Content-Type": "text/html"},
                b"<html>the chatbot's admin UI</html>",
            )
        ) as html:
            os.environ["INTEGRATIONS_SERVICE_URL"] = html.url
            with self.assertRaises(client.IntegrationsServiceMisconfigured) as raised:
                await client.get_integration("facebook")
            self.assertIn(html.url + "/integrations/facebook", str(raised.exception))
            self.assertIn("text/html", str(raised.exception))

    async def test_follows_no_redirect_and_the_token_never_leaves_for_the_other_host(
        self,
    ):
        elsewhere = answering(
            "200 OK",
            {"Content-Type": "application/json"},
            b'{"id": "facebook", "settings": {"secret": "from elsewhere"}}',
        )
        async with Server(elsewhere) as other:
            async with Server(
                answering(
                    "302 Found", {"Location": other.url + "/integrations/facebook"}
                )
            ) as redirecting:
                os.environ["INTEGRATIONS_SERVICE_URL"] = redirecting.url
                with self.assertRaises(
                    client.IntegrationsServiceMisconfigured
                ) as raised:
                    await client.get_integration("facebook")
                self.assertIn(other.url, str(raised.exception))
                self.assertEqual(other.requests, [])
                self.assertEqual(len(redirecting.requests), 1)

    async def test_check_verifies_the_url_the_version_and_each_token_s_scope(self):
        found = await client.check()
        self.assertEqual(found["read"], "ok")
        self.assertEqual(found["write"], "ok")
        self.assertRegex(found["version"], r"^\d+\.\d+\.\d+$")
        os.environ["INTEGRATIONS_SERVICE_READ_TOKEN"] = (
            "not-a-token-the-service-knows-0"
        )
        os.environ["INTEGRATIONS_SERVICE_ADMIN_TOKEN"] = READ
        with self.assertRaises(client.IntegrationsServiceMisconfigured) as raised:
            await client.check()
        lines = str(raised.exception).split("\n")
        self.assertEqual(
            lines[1:],
            [
                "INTEGRATIONS_SERVICE_READ_TOKEN (or INTEGRATIONS_SERVICE_TOKEN): not valid",
                "INTEGRATIONS_SERVICE_ADMIN_TOKEN (or INTEGRATIONS_SERVICE_TOKEN): may not write",
            ],
        )

    # --- connections and deadlines ------------------------------------------------------------------------

    async def test_reuses_one_connection_for_200_sequential_reads_counted_from_outside_the_client(
        self,
    ):
        host, port = SERVICE.replace("http://", "").split(":")
        async with Server(proxy_to((host, int(port)))) as proxy:
            os.environ["INTEGRATIONS_SERVICE_URL"] = proxy.url
            for _ in range(200):
                self.assertEqual(
                    (await client.get_integration("facebook")).id, "facebook"
                )
            self.assertEqual(proxy.connections, 1)

    async def test_bounds_the_whole_call_against_a_server_that_trickles_bytes(self):
        async def trickle(server, reader, writer):
            await read_request(server, reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
            for _ in range(100):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.1)

        async with Server(trickle) as slow:
            os.environ["INTEGRATIONS_SERVICE_URL"] = slow.url
            os.environ["INTEGRATIONS_SERVICE_TIMEOUT"] = "0.5"
            started = time.monotonic()
            with self.assertRaises(client.IntegrationsServiceUnavailable) as raised:
                await client.get_integration("facebook")
            # Each read of a byte is far within the deadline; the call as a whole is not.
            self.assertLess(time.monotonic() - started, 1.5)
            self.assertIn("within 0.5 s", str(raised.exception))

    async def test_fifty_concurrent_calls_to_a_hung_service_all_end_at_about_one_deadline(
        self,
    ):
        async def hang(server, reader, writer):
            await read_request(server, reader)
            await asyncio.sleep(30)

        async with Server(hang) as hung:
            os.environ["INTEGRATIONS_SERVICE_URL"] = hung.url
            os.environ["INTEGRATIONS_SERVICE_TIMEOUT"] = "1"
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(client.get_integration("facebook") for _ in range(50)),
                return_exceptions=True,
            )
            # About one deadline, not fifty queued ones (nor 50 / a thread pool's size of them, as on an executor).
            self.assertLess(time.monotonic() - started, 2.5)
            self.assertTrue(
                all(
                    isinstance(outcome, client.IntegrationsServiceUnavailable)
                    for outcome in outcomes
                )
            )
            # In flight together: far more connections than an executor's threads (a loaded machine may not
            # open all fifty before the deadline ends the calls that were still connecting).
            self.assertGreaterEqual(hung.connections, 20)

    async def test_says_unavailable_for_a_closed_port(self):
        os.environ["INTEGRATIONS_SERVICE_URL"] = "http://127.0.0.1:9"
        with self.assertRaises(client.IntegrationsServiceUnavailable):
            await client.get_integration("facebook")

    async def test_marks_a_stale_answer_on_the_record_and_logs_it_once(self):
        record = json.dumps(
            {
                "id": "facebook",
                "status": True,
                "settings": {"verify": "v", "secret": "s", "page_access_token": "t"},
            }
        ).encode()

        async def stale(server, reader, writer):
            while True:
                await read_request(server, reader)
                writer.write(
                    response(
                        "200 OK",
                        {
                            "Content-Type": "application/json",
                            "Age": "7",
                            "Warning": '110 integrations-service "Response is Stale"',
                        },
                        record,
                    )
                )
                await writer.drain()

        async with Server(stale) as copy:
            os.environ["INTEGRATIONS_SERVICE_URL"] = copy.url
            with self.assertLogs("integrations_client", level="WARNING") as logged:
                first = await client.get_integration("facebook")
                second = await client.get_integration("facebook")
            self.assertEqual((first.stale, second.stale), (7, 7))
            self.assertEqual(len(logged.records), 1)

    async def test_knows_the_fields_the_service_sets_as_its_api_document_says(self):
        async with httpx.AsyncClient() as http:
            document = (await http.get(SERVICE + "/openapi.json")).json()
        record = document["components"]["schemas"]["Integration"]["properties"]
        set_by_service = sorted(
            name for name, schema in record.items() if schema.get("readOnly")
        )
        self.assertEqual(set_by_service, sorted(client.SERVICE_SET_FIELDS))
        # Every other field of a record goes through to the service as given.
        self.assertEqual(
            client._as_changes({name: 1 for name in record}),
            {name: 1 for name in record if name not in set_by_service},
        )


@unittest.skipIf(fastapi is None, "fastapi is not installed (python3-fastapi)")
class ErrorHandlersTest(unittest.IsolatedAsyncioTestCase):
    """The chatbot's routes, as it writes them, in a FastAPI app with install_error_handlers(app)."""

    def setUp(self):
        self.saved = dict(os.environ)
        os.environ["INTEGRATIONS_SERVICE_READ_TOKEN"] = READ
        os.environ["INTEGRATIONS_SERVICE_ADMIN_TOKEN"] = ADMIN
        app = fastapi.FastAPI()
        client.install_error_handlers(app)

        @app.put("/admin/integrations/{id}")
        async def update_integration(id: str, integration: dict):
            updated = await client.update_integration(id, integration)
            if not updated:
                raise fastapi.HTTPException(
                    status_code=404, detail="Integration not found"
                )
            return updated

        @app.get("/bots/channels/facebook/webhook")
        async def verify_webhook():
            integration = await client.get_integration("facebook")
            if not integration or not integration.status:
                raise fastapi.HTTPException(
                    status_code=404,
                    detail="Facebook integration not configured or disabled",
                )
            return {"verify": integration.settings["verify"]}

        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://chatbot"
        )

    async def asyncTearDown(self):
        await self.http.aclose()
        await client.aclose()

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved)

    async def test_answers_a_refused_save_422_with_each_field_in_fastapi_s_shape(self):
        answer = await self.http.put(
            "/admin/integrations/facebook",
            json={
                "id": "facebook",
                "name": "",
                "description": "d",
                "settings": {"verify": "v"},
            },
        )
        self.assertEqual(answer.status_code, 422)
        self.assertEqual(
            answer.json(),
            {
                "detail": [
                    {
                        "loc": ["body", "name"],
                        "msg": "must be 1-100 characters long",
                        "type": "value_error",
                    },
                    {
                        "loc": ["body", "settings", "secret"],
                        "msg": "is required",
                        "type": "value_error",
                    },
                    {
                        "loc": ["body", "settings", "page_access_token"],
                        "msg": "is required",
                        "type": "value_error",
                    },
                ]
            },
        )

    async def test_answers_503_with_retry_after_on_the_webhook_while_the_service_is_down(
        self,
    ):
        os.environ["INTEGRATIONS_SERVICE_URL"] = "http://127.0.0.1:9"
        answer = await self.http.get("/bots/channels/facebook/webhook")
        self.assertEqual(answer.status_code, 503)
        self.assertEqual(answer.headers["retry-after"], "1")
        self.assertIn("could not be reached", answer.json()["detail"])

    async def test_answers_502_naming_the_problem_when_this_process_is_set_up_wrong(
        self,
    ):
        os.environ["INTEGRATIONS_SERVICE_URL"] = SERVICE + "/api"
        answer = await self.http.get("/bots/channels/facebook/webhook")
        self.assertEqual(answer.status_code, 502)
        self.assertIn("not a route of integrations-service", answer.json()["detail"])


if __name__ == "__main__":
    unittest.main()
