"""The bare client bench/wire.py compares evalgate with: no framework, one asyncio process on
uvloop (the fastest event loop; asyncio's own when uvloop is not installed), aiohttp with C
connections, every case one chat completion, each answer compared with the expected text.
Run as its own process so its start-up counts as evalgate's does.

aiohttp rather than httpx: at 64 connections httpx's pool spends ~9 ms of CPU per request
on this machine (9 s for 1,000 requests), which would flatter anything compared with it.

    python bench/wire_bare.py URL CASES CONCURRENCY
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp


async def run(url: str, cases: int, concurrency: int) -> int:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def one(index: int) -> bool:
            body = {"model": "m", "messages": [{"role": "user", "content": f"q{index}"}], "temperature": 0}
            async with session.post(f"{url}/chat/completions", json=body) as response:
                response.raise_for_status()
                answer = await response.json()
            return bool(answer["choices"][0]["message"]["content"] == f"a{index}")

        results = await asyncio.gather(*(one(index) for index in range(cases)))
    return sum(results)


def main() -> None:
    url, cases, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    try:
        import uvloop
    except ImportError:
        passed = asyncio.run(run(url, cases, concurrency))
    else:
        passed = uvloop.run(run(url, cases, concurrency))
    if passed != cases:
        raise SystemExit(f"only {passed} of {cases} answers matched")
    print(f"{passed}/{cases} passed")


if __name__ == "__main__":
    main()
