"""The bare client bench/wire.py compares evalgate with: no framework, one asyncio process,
httpx with C connections, every case one chat completion, each answer compared with the
expected text. Run as its own process so its start-up counts as evalgate's does.

    python bench/wire_bare.py URL CASES CONCURRENCY
"""

from __future__ import annotations

import asyncio
import sys

import httpx


async def run(url: str, cases: int, concurrency: int) -> int:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def one(index: int) -> bool:
            async with slots:
                response = await client.post("/chat/completions", json={
                    "model": "m", "messages": [{"role": "user", "content": f"q{index}"}], "temperature": 0,
                })
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"] == f"a{index}"

        results = await asyncio.gather(*(one(index) for index in range(cases)))
    return sum(results)


def main() -> None:
    url, cases, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    passed = asyncio.run(run(url, cases, concurrency))
    if passed != cases:
        raise SystemExit(f"only {passed} of {cases} answers matched")
    print(f"{passed}/{cases} passed")


if __name__ == "__main__":
    main()
