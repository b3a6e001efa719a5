"""How the playground answers while 20 tabs train at once.

Starts ``gradstep playground``, opens 20 WebSockets that each train the
largest network the page allows (six hidden layers of 8 ReLU units, all
seven features, 1000 spiral points), and meanwhile fetches a static file 40
times; prints the request latency (median and largest) and the frames per
second the tabs receive together.

    PYTHONPATH=$PWD/src python tools/measure_playground_load.py
"""

import asyncio
import json
import re
import statistics
import subprocess
import sys
import time

from aiohttp import ClientSession, WSMsgType

TABS = 20
LARGEST = {
    "dataset": "spiral",
    "samples": 1000,
    "hidden_layers": [8] * 6,
    "activation": "relu",
    "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"],
    "optimizer": "adam",
    "learning_rate": 0.01,
}


async def train(client, url: str, seed: int, frames: list[int], stop: asyncio.Event) -> None:
    socket = await client.ws_connect(url.replace("http://", "ws://").replace("/?", "/ws?"))
    await socket.receive()  # the catalogue
    await socket.send_json({"type": "config", "config": {**LARGEST, "seed": seed}})
    await socket.send_json({"type": "play"})
    while not stop.is_set():
        message = await socket.receive()
        if message.type != WSMsgType.TEXT:
            break
        if json.loads(message.data)["type"] == "frame":
            frames[seed] += 1
    await socket.close()


async def measure(url: str) -> None:
    frames, stop = [0] * TABS, asyncio.Event()
    async with ClientSession() as client:
        tabs = [asyncio.create_task(train(client, url, n, frames, stop)) for n in range(TABS)]
        await asyncio.sleep(5)  # all training
        before, started = sum(frames), time.monotonic()
        latencies = []
        for _ in range(40):
            sent = time.monotonic()
            async with client.get(url.replace("/?", "/static/playground.css?")) as response:
                await response.read()
                assert response.status == 200
            latencies.append(time.monotonic() - sent)
            await asyncio.sleep(0.25)
        rate = (sum(frames) - before) / (time.monotonic() - started)
        stop.set()
        await asyncio.gather(*tabs, return_exceptions=True)
    print(
        f"{TABS} tabs training: a request answered in {statistics.median(latencies) * 1000:.0f} ms "
        f"(median), {max(latencies) * 1000:.0f} ms at most; {rate:.1f} frames a second in all"
    )


def main() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "gradstep", "playground"], stdout=subprocess.PIPE, text=True
    )
    try:
        url = re.search(r"http://\S+", process.stdout.readline()).group(0)
        asyncio.run(measure(url))
    finally:
        process.terminate()
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
