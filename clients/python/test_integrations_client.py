"""Tests of integrations_client against a running integrations-service (started by `npm test`, see
test/python/client.spec.ts), as the chatbot's backend and bot runtime call it.

Environment: INTEGRATIONS_SERVICE_URL, TEST_ADMIN_TOKEN, TEST_READ_TOKEN.
"""

import asyncio
import http.server
import os
import socket
import threading
import time
import unittest

import integrations_client as client


class SlowHandler(http.server.BaseHTTPRequestHandler):
    delay = 0.4

    def do_GET(self):
        time.sleep(self.delay)
        body = b'{"id": "facebook", "status": true, "settings": {"verify": "v"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.saved = dict(os.environ)
        os.environ["INTEGRATIONS_SERVICE_TOKEN"] = os.environ["TEST_ADMIN_TOKEN"]

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved)

    def run_async(self, coroutine):
        return asyncio.run(coroutine)

    def test_lists_every_integration_sorted_with_the_old_field_names(self):
        integrations = self.run_async(client.list_integrations())
        self.assertEqual([i.id for i in integrations], ["chat_widget", "facebook"])
        facebook = integrations[1]
        self.assertEqual(facebook["name"], facebook.name)
        for field in ("id", "name", "description", "status", "settings"):
            self.assertIn(field, facebook)

    def test_gets_one_as_the_bot_runtime_uses_it(self):
        facebook = self.run_async(client.get_integration("facebook"))
        self.assertIsInstance(facebook.status, bool)
        self.assertEqual(set(facebook.settings), {"verify", "secret", "page_access_token"})
        self.assertEqual(facebook.settings["verify"], facebook["settings"]["verify"])

    def test_answers_none_for_an_unknown_id(self):
        self.assertIsNone(self.run_async(client.get_integration("telegram")))
        self.assertIsNone(self.run_async(client.get_integration("../admin")))
        self.assertIsNone(self.run_async(client.update_integration("telegram", {"status": True})))

    def test_updates_from_a_dict_as_the_admin_routes_pass_it(self):
        current = self.run_async(client.get_integration("chat_widget"))
        updated = self.run_async(client.update_integration("chat_widget", dict(current, settings={"color": "red"})))
        self.assertEqual(updated.settings, {"color": "red"})
        self.assertEqual(updated.version, current.version + 1)
        self.assertEqual(self.run_async(client.get_integration("chat_widget")).settings, {"color": "red"})

    def test_updates_from_a_pydantic_v2_model_with_only_the_fields_set(self):
        class Model:  # what pydantic's model_dump(exclude_unset=True) answers, without pydantic
            def model_dump(self, exclude_unset=False):
                return {"status": True} if exclude_unset else {"id": "chat_widget", "name": None, "status": True}

        updated = self.run_async(client.update_integration("chat_widget", Model()))
        self.assertTrue(updated.status)
        self.assertEqual(updated.name, "Chat Widget")

    def test_updates_from_a_pydantic_v1_model(self):
        class Model:
            def dict(self, exclude_unset=False):
                return {"status": False, "description": "via dict()"}

        updated = self.run_async(client.update_integration("chat_widget", Model()))
        self.assertEqual((updated.status, updated.description), (False, "via dict()"))

    def test_says_what_the_service_refused_with_the_problem_detail(self):
        with self.assertRaises(client.IntegrationsServiceError) as caught:
            self.run_async(client.update_integration("facebook", {"settings": {"verify": "v"}}))
        self.assertEqual(caught.exception.status, 422)
        self.assertIn("breaks", str(caught.exception))
        self.assertIn("/settings/secret is required", str(caught.exception))
        self.assertEqual(self.run_async(client.get_integration("facebook")).settings["verify"], "ai-chatbot-framework")

    def test_a_read_token_reads_and_is_refused_a_write(self):
        os.environ["INTEGRATIONS_SERVICE_TOKEN"] = os.environ["TEST_READ_TOKEN"]
        self.assertIsNotNone(self.run_async(client.get_integration("facebook")))
        with self.assertRaises(client.IntegrationsServiceError) as caught:
            self.run_async(client.update_integration("facebook", {"status": True}))
        self.assertEqual(caught.exception.status, 403)
        self.assertIn("may only read", str(caught.exception))

    def test_a_missing_token_is_refused_with_the_reason(self):
        del os.environ["INTEGRATIONS_SERVICE_TOKEN"]
        with self.assertRaises(client.IntegrationsServiceError) as caught:
            self.run_async(client.list_integrations())
        self.assertEqual(caught.exception.status, 401)
        self.assertIn("Bearer", str(caught.exception))

    def test_ensures_the_defaults(self):
        result = self.run_async(client.ensure_default_integrations())
        self.assertEqual(sorted(result["existing"]), ["chat_widget", "facebook"])

    def test_says_the_service_is_down_quickly_when_nothing_listens(self):
        os.environ["INTEGRATIONS_SERVICE_URL"] = "http://127.0.0.1:{}".format(closed_port())
        started = time.monotonic()
        with self.assertRaises(client.IntegrationsServiceUnavailable) as caught:
            self.run_async(client.get_integration("facebook"))
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("did not answer", str(caught.exception))


class EventLoopTest(unittest.TestCase):
    def setUp(self):
        self.saved = dict(os.environ)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        os.environ["INTEGRATIONS_SERVICE_URL"] = "http://127.0.0.1:{}".format(self.server.server_address[1])

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()
        os.environ.clear()
        os.environ.update(self.saved)

    def test_keeps_blocking_io_off_the_event_loop(self):
        ticks = []

        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        async def scenario():
            task = asyncio.ensure_future(ticker())
            integration = await client.get_integration("facebook")
            task.cancel()
            return integration

        integration = asyncio.run(scenario())
        self.assertTrue(integration.status)
        # The loop kept running while the call waited 0.4 s on the slow server.
        self.assertGreater(len(ticks), 15)

    def test_gives_up_after_the_timeout(self):
        os.environ["INTEGRATIONS_SERVICE_TIMEOUT"] = "0.1"
        with self.assertRaises(client.IntegrationsServiceUnavailable):
            asyncio.run(client.get_integration("facebook"))


if __name__ == "__main__":
    unittest.main()
