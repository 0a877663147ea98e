"""The bot's read through the chatbot's client, beside a raw keep-alive loop to the same URL.

Run by `npm run bench` (bench/run.ts) on an interpreter with httpx:
    python3 bench/client_bench.py CLIENT_URL HTTPX_URL RAW_URL COUNT
with INTEGRATIONS_SERVICE_READ_TOKEN set. The three URLs may be counting proxies in front of the same service,
so the bench can tell how many TCP connections each loop opened. Prints one JSON object: {"client": {"mean_ms", "p99_ms"}, "httpx": {...}, "raw": {...}}.
"""

import asyncio
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(
    0,
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"),
)


def summary(durations):
    ordered = sorted(durations)
    return {
        "mean_ms": statistics.fmean(ordered) * 1e3,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3,
    }


async def through_client(count, warm):
    """What the bot does per message: one get_integration, awaited, in one event loop (the app's)."""
    import integrations_client as client

    durations = []
    for i in range(warm + count):
        started = time.perf_counter()
        record = await client.get_integration("facebook")
        if i >= warm:
            durations.append(time.perf_counter() - started)
        assert record is not None and record["id"] == "facebook"
    await client.aclose()
    return durations


async def through_httpx(url, count, warm, token):
    """The library the client is built on, alone: one AsyncClient, the same GET, the body parsed."""
    import httpx

    durations = []
    async with httpx.AsyncClient() as session:
        for i in range(warm + count):
            started = time.perf_counter()
            response = await session.get(
                url + "/integrations/facebook",
                headers={"Authorization": f"Bearer {token}"},
            )
            body = response.json()
            if i >= warm:
                durations.append(time.perf_counter() - started)
            assert response.status_code == 200 and body["id"] == "facebook"
    return durations


def raw_loop(url, count, warm, token):
    """The floor: one http.client connection kept alive, the request written by hand."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    durations = []
    for i in range(warm + count):
        started = time.perf_counter()
        connection.request("GET", "/integrations/facebook", headers=headers)
        response = connection.getresponse()
        body = json.loads(response.read())
        if i >= warm:
            durations.append(time.perf_counter() - started)
        assert response.status == 200 and body["id"] == "facebook"
    connection.close()
    return durations


def main():
    client_url, httpx_url, raw_url, count = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
    )
    token = os.environ["INTEGRATIONS_SERVICE_READ_TOKEN"]
    os.environ["INTEGRATIONS_SERVICE_URL"] = client_url
    # Each loop's first 50 calls warm it (imports, the connection) and are not counted.
    client = asyncio.run(through_client(count, 50))
    plain = asyncio.run(through_httpx(httpx_url, count, 50, token))
    raw = raw_loop(raw_url, count, 50, token)
    print(
        json.dumps(
            {"client": summary(client), "httpx": summary(plain), "raw": summary(raw)}
        )
    )


if __name__ == "__main__":
    main()
