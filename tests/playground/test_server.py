"""The playground's server through aiohttp's test client: the token and the
Host header guard every request; each WebSocket has its own session; bad
messages and uploads get an error and the server keeps running; twenty
sessions train at once and a plain request is still answered."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

try:  # the test extra brings the playground extra; without it, fail and say so (not skip)
    from aiohttp import FormData, WSMsgType
    from aiohttp.test_utils import TestClient, TestServer
except ImportError as missing:
    raise ImportError(
        "the playground's tests need aiohttp, from the playground extra (the test extra "
        "brings it): pip install -e '.[test]'"
    ) from missing

from gradstep.playground import server

TOKEN = "the-test-token"
SMALL = {"dataset": "xor", "samples": 100, "hidden_layers": [3], "batch_size": 10}


def with_client(test):
    """Run ``test(client)`` against a fresh playground on 127.0.0.1."""

    async def main():
        async with TestClient(TestServer(server.make_app(TOKEN), host="127.0.0.1")) as client:
            return await test(client)

    return asyncio.run(main())


async def receive(socket, kind: str, timeout: float = 60) -> dict:
    """The next message of this type (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        message = await socket.receive(timeout=max(0.1, deadline - time.monotonic()))
        assert message.type == WSMsgType.TEXT, message
        data = json.loads(message.data)
        if data["type"] == kind:
            return data


async def open_session(client, config=SMALL):
    socket = await client.ws_connect(f"/ws?token={TOKEN}")
    catalog = await receive(socket, "catalog")
    await socket.send_json({"type": "config", "config": config})
    await receive(socket, "frame")
    return socket, catalog["session"]


# --- the guard -------------------------------------------------------------------------------
def test_the_page_needs_the_token_then_its_cookie_stands_for_it():
    async def test(client):
        assert (await client.get("/")).status == 403
        assert (await client.get("/?token=wrong")).status == 403
        assert (await client.get("/static/playground.js")).status == 403
        page = await client.get(f"/?token={TOKEN}")
        assert page.status == 200 and "<canvas" in await page.text()
        # the cookie set with the page lets its scripts load without the token
        script = await client.get("/static/playground.js")
        assert script.status == 200 and "WebSocket" in await script.text()
        refused = await client.get("/", cookies={f"gradstep-playground-{client.port}": "wrong"})
        return refused.status

    assert with_client(test) == 403


def test_a_foreign_host_header_or_origin_is_refused():
    async def test(client):
        port = client.port
        statuses = {}
        for host in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            f"attacker.example:{port}",
            "127.0.0.1:1",
        ):
            response = await client.get(f"/?token={TOKEN}", headers={"Host": host})
            statuses[host.replace(str(port), "PORT")] = response.status
        foreign = await client.get(
            f"/?token={TOKEN}", headers={"Origin": f"http://attacker.example:{port}"}
        )
        return statuses, foreign.status, await foreign.text()

    statuses, foreign_status, text = with_client(test)
    assert statuses == {
        "127.0.0.1:PORT": 200,
        "localhost:PORT": 200,
        "attacker.example:PORT": 403,
        "127.0.0.1:1": 403,
    }
    assert foreign_status == 403 and "attacker.example" in text


def test_a_websocket_without_the_token_is_refused():
    async def test(client):
        response = await client.get("/ws")
        return response.status

    assert with_client(test) == 403


def test_the_page_loads_nothing_from_the_network():
    """No CDN, no outside fonts: every URL the page's files name is its own."""
    for path in sorted(server.STATIC.iterdir()):
        text = path.read_text()
        assert re.findall(r"(?:https?:)?//[\w.-]+\.\w+/", text) == [], path.name
        assert "@import" not in text and "url(" not in text, path.name


# --- one session over the WebSocket -----------------------------------------------------------
def test_a_session_sends_what_the_page_draws_then_trains_on_request():
    async def test(client):
        socket = await client.ws_connect(f"/ws?token={TOKEN}")
        catalog = await receive(socket, "catalog")
        await socket.send_json({"type": "config", "config": SMALL})
        config = await receive(socket, "config")
        data = await receive(socket, "data")
        schedule = await receive(socket, "schedule")
        first = await receive(socket, "frame")
        await socket.send_json({"type": "epoch"})
        after_epoch = await receive(socket, "frame")
        await socket.send_json({"type": "play"})
        assert (await receive(socket, "status"))["running"] is True
        await receive(socket, "frame")
        await socket.send_json({"type": "pause"})
        assert (await receive(socket, "status"))["running"] is False
        return catalog, config, data, schedule, first["frame"], after_epoch["frame"]

    catalog, config, data, schedule, first, after_epoch = with_client(test)
    assert {"name": "spiral", "task": "classification"} in catalog["catalog"]["datasets"]
    assert catalog["session"]
    assert config["config"]["dataset"] == "xor" and config["config"]["hidden_layers"] == [3]
    assert data["data"]["task"] == "classification" and len(data["data"]["train"]) == 50
    assert len(schedule["schedule"]) == server.SCHEDULE_PREVIEW_STEPS
    assert (first["epoch"], after_epoch["epoch"]) == (0, 1)


BAD_MESSAGES = {
    "not JSON": ("{type: play", "must be JSON"),
    "not an object": ("[1, 2]", "must be a JSON object, received list"),
    "an unknown type": ('{"type": "fly"}', "type must be one of"),
    "an explain without its column": (
        '{"type": "explain", "layer": 0, "row": 0}',
        "explain: 'column' must be an integer, received None",
    ),
    "a seed that is not a number": ('{"type": "reset", "seed": "x"}', "seed must be an integer"),
    "a config naming no dataset it has": (
        '{"type": "config", "config": {"dataset": "moons"}}',
        "moons",
    ),
    "an oversized message": (
        json.dumps({"type": "step", "padding": "x" * (server.MAX_MESSAGE_CHARS + 1)}),
        f"at most {server.MAX_MESSAGE_CHARS} characters",
    ),
}


@pytest.mark.parametrize("text, expected", BAD_MESSAGES.values(), ids=BAD_MESSAGES)
def test_a_bad_message_gets_an_error_and_the_session_goes_on(text, expected):
    async def test(client):
        socket, _ = await open_session(client)
        await socket.send_str(text)
        error = await receive(socket, "error")
        await socket.send_json({"type": "step"})
        frame = await receive(socket, "frame")
        return error["message"], frame["frame"]["step"]

    message, step = with_client(test)
    assert expected in message
    assert step == 1


def test_a_message_over_aiohttps_limit_closes_that_socket_only():
    async def test(client):
        socket, _ = await open_session(client)
        await socket.send_str("x" * (server.MAX_WEBSOCKET_BYTES + 1))
        closed = await socket.receive(timeout=60)
        other, _ = await open_session(client)
        await other.send_json({"type": "step"})
        return closed.type, socket.close_code, (await receive(other, "frame"))["frame"]["step"]

    kind, code, step = with_client(test)
    assert (kind, code, step) == (WSMsgType.CLOSE, 1009, 1)


# --- uploads and exports ----------------------------------------------------------------------
GOOD_CSV = "u,v,label\n" + "".join(f"{i / 10},{(i * 7) % 13 - 6},{i % 2}\n" for i in range(40))


async def upload(client, session, data, columns=("u", "v", "label")):
    form = FormData()
    form.add_field("file", data, filename="points.csv", content_type="text/csv")
    for name, column in zip(("x1", "x2", "target"), columns, strict=True):
        form.add_field(name, column)
    response = await client.post(f"/upload?session={session}&token={TOKEN}", data=form)
    return response.status, await response.json()


def test_a_good_csv_becomes_the_sessions_data():
    async def test(client):
        socket, session = await open_session(client)
        status, answer = await upload(client, session, GOOD_CSV.encode())
        data = await receive(socket, "data")
        await receive(socket, "frame")  # the new data's first
        await socket.send_json({"type": "epoch"})
        frame = await receive(socket, "frame")
        return status, answer, data["data"], frame["frame"]

    status, answer, data, frame = with_client(test)
    assert (status, answer["type"]) == (200, "uploaded")
    assert len(data["train"]) + len(data["test"]) == 40
    assert data["task"] == "classification"
    assert frame["epoch"] >= 1


BAD_UPLOADS = {
    "a cell that is not a number": (
        GOOD_CSV.replace("0.5,", "half,", 1).encode(),
        ("u", "v", "label"),
        400,
        "line 7, column 'u' must be a number, received 'half'",
    ),
    "an unknown column": (GOOD_CSV.encode(), ("u", "w", "label"), 400, "no column 'w'"),
    "not UTF-8": (b"\xff\xfe\x00a,b\n", ("a", "b", "a"), 400, "UTF-8"),
    "too large": (
        b"a,b,c\n" + b"1,2,3\n" * (server.MAX_UPLOAD_BYTES // 6 + 10),
        ("a", "b", "c"),
        413,
        "at most 2048 KB",
    ),
}


@pytest.mark.parametrize("data, columns, status, expected", BAD_UPLOADS.values(), ids=BAD_UPLOADS)
def test_a_bad_upload_gets_an_error_and_the_session_goes_on(data, columns, status, expected):
    async def test(client):
        socket, session = await open_session(client)
        answer = await upload(client, session, data, columns)
        await socket.send_json({"type": "step"})
        frame = await receive(socket, "frame")
        return answer, frame["frame"]["step"]

    (received_status, answer), step = with_client(test)
    assert (received_status, answer["type"]) == (status, "error")
    assert expected in answer["message"]
    assert step == 1


def test_an_upload_or_export_for_no_session_is_refused():
    async def test(client):
        status, answer = await upload(client, "nobody", GOOD_CSV.encode())
        export = await client.get(f"/export/gradstep?session=nobody&token={TOKEN}")
        return status, answer["message"], export.status

    assert with_client(test) == (404, "no such session: reload the page", 404)


def test_the_run_exports_as_a_gradstep_script():
    async def test(client):
        socket, session = await open_session(client)
        script = await client.get(f"/export/gradstep?session={session}&token={TOKEN}")
        unknown = await client.get(f"/export/matlab?session={session}&token={TOKEN}")
        return (
            script.status,
            script.headers["Content-Disposition"],
            await script.text(),
            unknown.status,
            (await unknown.json())["message"],
        )

    status, disposition, text, unknown_status, unknown_message = with_client(test)
    assert status == 200 and "playground_gradstep.py" in disposition
    assert "import gradstep" in text
    compile(text, "playground_gradstep.py", "exec")
    assert unknown_status == 404 and "received 'matlab'" in unknown_message


@pytest.mark.parametrize("kind", ["keras", "pytorch", "keras-model", "onnx"])
def test_every_export_downloads(kind):
    async def test(client):
        socket, session = await open_session(client)
        await socket.send_json({"type": "epoch"})
        await receive(socket, "frame")
        response = await client.get(f"/export/{kind}?session={session}&token={TOKEN}")
        return response.status, response.headers["Content-Disposition"], await response.read()

    status, disposition, body = with_client(test)
    assert status == 200 and "attachment" in disposition
    if kind == "keras-model":
        assert body[:2] == b"PK"  # a zip archive
    elif kind == "onnx":
        assert len(body) > 100
    else:
        compile(body.decode(), f"{kind}.py", "exec")


# --- load --------------------------------------------------------------------------------------
def test_twenty_sessions_train_at_once_each_on_its_own_model_and_the_server_answers():
    """Pairs of sessions share a seed: while all twenty train, interleaved on
    the worker threads, each pair's losses agree, step for step, and differ
    from the other pairs'. A plain request is answered meanwhile."""
    sessions = 20

    async def test(client):
        sockets = []
        for number in range(sessions):
            socket, _ = await open_session(client, {**SMALL, "seed": number // 2})
            sockets.append(socket)
        for socket in sockets:
            await socket.send_json({"type": "play"})
        frames = [await receive(socket, "frame") for socket in sockets]  # all are training
        started = time.monotonic()
        page = await client.get("/static/playground.css", params={"token": TOKEN})
        answered_in = time.monotonic() - started
        for socket in sockets:
            while (await receive(socket, "frame"))["frame"]["epoch"] < 2:
                pass
        for socket in sockets:
            await socket.send_json({"type": "pause"})
        histories = []
        for socket in sockets:
            await receive(socket, "status")
            await socket.send_json({"type": "step"})
            histories.append((await receive(socket, "frame"))["frame"]["history"]["train_loss"])
        return page.status, answered_in, frames, histories

    status, answered_in, frames, histories = with_client(test)
    assert status == 200
    assert answered_in < 10, f"a plain request took {answered_in:.1f} s while 20 sessions trained"
    assert all(frame["frame"]["step"] >= 1 for frame in frames)
    shortest = min(len(history) for history in histories)
    assert shortest >= 1
    prefixes = [history[:shortest] for history in histories]
    for pair in range(sessions // 2):
        assert prefixes[2 * pair] == prefixes[2 * pair + 1], f"seed {pair}'s two sessions differ"
    assert len({tuple(prefix) for prefix in prefixes}) == sessions // 2


# --- the command -------------------------------------------------------------------------------
async def _play_then_interrupt(url: str, process: subprocess.Popen) -> int:
    """Open a tab on the running server, make it train, then press Ctrl-C;
    the close code the tab sees."""
    from aiohttp import ClientSession

    async with ClientSession() as client:
        socket = await client.ws_connect(url.replace("http://", "ws://").replace("/?", "/ws?"))
        await receive(socket, "catalog")
        await socket.send_json({"type": "config", "config": SMALL})
        await socket.send_json({"type": "play"})
        for _ in range(3):
            await receive(socket, "frame")
        process.send_signal(signal.SIGINT)
        while (await socket.receive(timeout=60)).type not in (WSMsgType.CLOSE, WSMsgType.CLOSED):
            pass
        return socket.close_code


def _start_playground(*options: str, **environment: str) -> tuple[subprocess.Popen, str]:
    """`gradstep playground --port 0` in a subprocess, and the URL it printed."""
    source = Path(server.__file__).parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "gradstep", "playground", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(source), **environment},
    )
    line = process.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+", line)
    if url is None:
        process.kill()
        pytest.fail(f"the playground printed no URL: {line!r} {process.stderr.read()[-2000:]}")
    return process, url.group(0)


def test_gradstep_playground_prints_its_url_and_stops_cleanly_on_ctrl_c_while_training():
    process, url = _start_playground()
    try:
        with urllib.request.urlopen(url, timeout=60) as page:
            assert page.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.split("?")[0], timeout=60)
        assert refused.value.code == 403
        close_code = asyncio.run(_play_then_interrupt(url, process))
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert close_code == 1001  # going away
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_gradstep_playground_open_hands_its_url_to_the_browser(tmp_path):
    """--open goes through Python's webbrowser, which runs $BROWSER: here a
    script that writes down the address it was given and then holds on, as a
    console browser does until it is closed; the server answers meanwhile."""
    opened, release = tmp_path / "opened.txt", tmp_path / "release"
    browser = tmp_path / "browser.sh"
    browser.write_text(
        f'#!/bin/sh\necho "$1" > {opened}\n'
        f"for _ in $(seq 600); do [ -e {release} ] && exit 0; sleep 0.1; done\n"
    )
    browser.chmod(0o755)
    process, url = _start_playground("--open", BROWSER=f"{browser} %s", DISPLAY="")
    try:
        for _ in range(600):
            if opened.exists() and opened.read_text().strip():
                break
            time.sleep(0.1)
        with urllib.request.urlopen(url, timeout=60) as page:  # while the browser holds on
            assert page.status == 200
        release.touch()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    finally:
        release.touch()
        process.kill()
    assert opened.read_text().strip() == url
    assert process.returncode == 0


def test_a_port_in_use_is_one_line_of_error(capsys):
    import socket

    from gradstep import cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["playground", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gradstep: error: cannot serve on 127.0.0.1:{port}: ")
    assert "address already in use" in err.lower()
