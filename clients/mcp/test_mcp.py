#!/usr/bin/env python3
"""`gossip-node mcp` driven by the official MCP Python SDK as a real client: initialize, list
the tools, call each one against a running node, and call one with the node down.
Usage: test_mcp.py BINARY   (scripts/test runs it in a venv with `pip install mcp`)"""
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BINARY = sys.argv[1]
HOST = "127.0.0.52"
PORT = 40000 + 2 * random.randrange(2000)
API = f"{HOST}:{PORT + 1}"
EXPECTED = {"recall", "remember", "breaker_status", "open_breaker", "benchmarks"}


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def attr(obj, *names):
    """The SDK's attribute under either spelling (1.x camelCase, 2.x snake_case)."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def structured(result):
    if attr(result, "is_error", "isError"):
        fail(f"a tool answered an error: {result.content}")
    data = getattr(result, "structuredContent", None) or getattr(result, "structured_content", None)
    if data is None:
        data = json.loads(result.content[0].text)
    return data


async def session(api, check):
    params = StdioServerParameters(command=BINARY, args=["mcp", "--api", api])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            await check(s, init)


async def against_node(s, init):
    version = getattr(init, "protocolVersion", None) or getattr(init, "protocol_version", None)
    if not version:
        fail(f"no protocol version in {init}")
    tools = await s.list_tools()
    names = {t.name for t in tools.tools}
    if names != EXPECTED:
        fail(f"tools {names}, expected {EXPECTED}")
    for t in tools.tools:
        schema = getattr(t, "inputSchema", None) or getattr(t, "input_schema", None)
        if not schema or schema.get("type") != "object":
            fail(f"tool {t.name} has no object input schema")
    written = structured(await s.call_tool("remember", {"content": "Provider X drops requests at 03:00 UTC", "category": "outage",
                                                        "key": "mcp-test", "tags": ["provider-x"]}))
    if len(written.get("id", "")) != 64:
        fail(f"remember answered {written}")
    found = structured(await s.call_tool("recall", {"query": "provider drops", "limit": 5}))["memories"]
    if not found or found[0]["content"] != "Provider X drops requests at 03:00 UTC" or not found[0]["author"] or "trusted" not in found[0]:
        fail(f"recall answered {found}")
    structured(await s.call_tool("open_breaker", {"provider": "kimi", "model": "k2", "minutes": 30, "reason": "503s"}))
    breakers = structured(await s.call_tool("breaker_status", {"provider": "kimi"}))["breakers"]
    if not breakers or breakers[0]["state"] != "open" or not breakers[0]["author"]:
        fail(f"breaker_status answered {breakers}")
    urllib.request.urlopen(urllib.request.Request(f"http://{API}/v1/benchmarks", method="POST", headers={"Content-Type": "application/json"},
                                                  data=json.dumps({"provider": "kimi", "model": "k2", "metric": "latency_ms", "value": 840}).encode()))
    bench = structured(await s.call_tool("benchmarks", {"provider": "kimi"}))["benchmarks"]
    if not bench or bench[0]["count"] != 1 or not bench[0]["authors"] or "trusted" not in bench[0]:
        fail(f"benchmarks answered {bench}")
    print(f"mcp: protocol {version}; {len(names)} tools listed; remember, recall, open_breaker, breaker_status, benchmarks answered with provenance")


async def node_down(s, init):
    result = await s.call_tool("recall", {"query": "anything"})
    if not attr(result, "is_error", "isError") or "does not answer" not in result.content[0].text:
        fail(f"with the node down recall answered {result}")
    print("mcp: with the node down a tool answers isError with a message, the session stays up")


def main():
    data = tempfile.mkdtemp(prefix="gossip-mcp-")
    subprocess.run([BINARY, "init", "--data", data], check=True, capture_output=True)
    node = subprocess.Popen([BINARY, "run", "--data", data, "--bind", f"{HOST}:{PORT}", "--api", API, "--profile", "fast",
                             "--restore-grace", "0", "--discover", "off", "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                if urllib.request.urlopen(f"http://{API}/readyz", timeout=1).status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                fail("the node was not ready in 30 s")
            time.sleep(0.05)
        asyncio.run(session(API, against_node))
        asyncio.run(session("127.0.0.1:9", node_down))
    finally:
        node.terminate()
        node.wait(timeout=20)


if __name__ == "__main__":
    main()
