"""The playground's web server, on aiohttp.

``GET /`` serves the page (``static/``); ``/ws`` is a WebSocket per browser
tab, each with its own :class:`~gradstep.playground.session.Session`;
``POST /upload`` takes a CSV for a tab's session; ``GET /export/<kind>``
returns a tab's run as a script or its model as a file.

Every request must carry the token (in the query, or in the cookie the page
sets when first loaded with it) and a Host header naming this server
(``127.0.0.1:PORT``, ``localhost:PORT`` or the bound host), which stops DNS
rebinding. Training runs off the event loop, on a worker thread that takes
the sessions' slices in turn, and streams at most ``FRAMES_PER_SECOND``
frames a second to each page.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hmac
import json
import logging
import secrets
import threading
import time
import webbrowser
from pathlib import Path

from aiohttp import WSCloseCode, WSMsgType, web

from gradstep.playground import export
from gradstep.playground.session import Session

STATIC = Path(__file__).parent / "static"
FRAMES_PER_SECOND = 15
#: Longer WebSocket messages get an error message; the page's are a few hundred bytes.
MAX_MESSAGE_CHARS = 64 * 1024
#: Longer ones close the WebSocket (aiohttp's limit, close code 1009).
MAX_WEBSOCKET_BYTES = 1024 * 1024
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_ROWS = 20_000
#: The schedule drawn before training: 100 epochs' steps, at least this many.
SCHEDULE_PREVIEW_STEPS = 1000

log = logging.getLogger(__name__)

TOKEN = web.AppKey("token", str)
HOST = web.AppKey("host", str)
TABS = web.AppKey("tabs", dict)
EXECUTOR = web.AppKey("executor", concurrent.futures.ThreadPoolExecutor)


# --- the guard: Host header and token ----------------------------------------------------
def _port(request: web.Request) -> int | None:
    address = request.transport.get_extra_info("sockname") if request.transport else None
    return address[1] if address else None


def _allowed_hosts(request: web.Request) -> set[str]:
    port = _port(request)
    names = {"127.0.0.1", "localhost", request.app[HOST]}
    return {f"[{name}]:{port}" if ":" in name else f"{name}:{port}" for name in names}


def _cookie_name(request: web.Request) -> str:
    # Cookies ignore ports: one name per port keeps two playgrounds apart.
    return f"gradstep-playground-{_port(request)}"


def _has_token(request: web.Request) -> bool:
    token = request.app[TOKEN].encode()
    given = request.query.get("token") or request.cookies.get(_cookie_name(request)) or ""
    return hmac.compare_digest(given.encode(), token)


@web.middleware
async def guard(request: web.Request, handler):
    allowed = _allowed_hosts(request)
    if request.host not in allowed:
        raise web.HTTPForbidden(
            text=f"the Host header must be one of {sorted(allowed)}, received {request.host!r}"
        )
    origin = request.headers.get("Origin")
    if origin is not None and origin.removeprefix("http://") not in allowed:
        raise web.HTTPForbidden(text=f"requests from the page at {origin!r} are refused")
    if not _has_token(request):
        raise web.HTTPForbidden(
            text="this playground needs its token: open the URL `gradstep playground` printed"
        )
    return await handler(request)


# --- the page ------------------------------------------------------------------------------
async def index(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC / "index.html")
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(_cookie_name(request), request.app[TOKEN], httponly=True, samesite="Strict")
    return response


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"type": "error", "message": message}, status=status)


# --- one browser tab -------------------------------------------------------------------
class Tab:
    """A WebSocket and its Session. Work on the session runs on the executor,
    one call at a time (``run``); ``play`` trains in slices of
    1/FRAMES_PER_SECOND s, each followed by a frame."""

    def __init__(self, websocket: web.WebSocketResponse, executor, tab_id: str):
        self.websocket = websocket
        self.executor = executor
        self.id = tab_id
        self.session: Session | None = None
        self.lock = asyncio.Lock()
        self.playing = False
        self.player: asyncio.Task | None = None

    async def run(self, function, *args, **kwargs):
        async with self.lock:
            return await asyncio.get_running_loop().run_in_executor(
                self.executor, functools.partial(function, *args, **kwargs)
            )

    async def send(self, kind: str, **fields) -> None:
        await self.websocket.send_str(json.dumps({"type": kind, **fields}))

    async def send_frame(self) -> None:
        await self.websocket.send_str(await self.run(self._frame_message))

    def _frame_message(self) -> str:
        return json.dumps({"type": "frame", "frame": self.session.frame()})

    # training on the worker thread
    def _train_slice(self) -> str:
        """Steps for 1/FRAMES_PER_SECOND s (at least one, none once the run
        has diverged), then the frame."""
        deadline = time.monotonic() + 1 / FRAMES_PER_SECOND
        while self.session.step() is not None and time.monotonic() < deadline:
            time.sleep(0)  # lets the event loop take the GIL between steps, not every 5 ms
        return self._frame_message()

    async def _play(self) -> None:
        try:
            while self.playing and not self.websocket.closed:
                await self.websocket.send_str(await self.run(self._train_slice))
                if self.session.diverged is not None:
                    await self.send("error", message=self.session.diverged)
                    break
        except ConnectionResetError:
            pass
        except Exception as error:  # the page hears of it; the server keeps running
            await self.send("error", message=_message(error))
        finally:
            self.playing = False
            if not self.websocket.closed:
                await self.send("status", running=False)

    async def pause(self) -> None:
        self.playing = False
        if self.player is not None:
            await self.player
            self.player = None

    # the messages from the page
    async def on_config(self, message: dict) -> None:
        """New choices: a new model (an uploaded CSV stays the session's)."""
        await self.pause()
        config = _field(message, "config", dict)
        if self.session is None:
            self.session = await self.run(Session, config)
        else:
            await self.run(self.session.configure, config)
        await self.send_session()

    async def send_session(self) -> None:
        """What the page draws from: the configuration, the data, the schedule, a frame."""
        await self.send("config", config=self.session.config)
        await self.send("data", data=await self.run(self.session.points))
        await self.on_schedule_preview({})
        await self.send_frame()

    async def on_play(self, message: dict) -> None:
        if not self.playing:
            self.playing = True
            await self.send("status", running=True)
            self.player = asyncio.create_task(self._play())

    async def on_pause(self, message: dict) -> None:
        await self.pause()

    async def on_step(self, message: dict) -> None:
        await self.pause()
        await self.run(self.session.step)
        await self.send_frame()

    async def on_epoch(self, message: dict) -> None:
        await self.pause()
        await self.run(self.session.epoch)
        await self.send_frame()

    async def on_reset(self, message: dict) -> None:
        await self.pause()
        seed = message.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"reset: seed must be an integer, received {seed!r}")
        await self.run(self.session.reset, seed=seed)
        await self.send("config", config=self.session.config)
        await self.send_frame()

    async def on_rewind(self, message: dict) -> None:
        await self.pause()
        await self.run(self.session.rewind)
        await self.send_frame()

    async def on_explain(self, message: dict) -> None:
        await self.pause()
        where = [_field(message, name, int) for name in ("layer", "row", "column")]
        await self.send("explain", html=await self.run(self.session.explain, *where))

    async def on_schedule_preview(self, message: dict) -> None:
        hundred_epochs = min(100_000, 100 * self.session.steps_per_epoch)
        steps = message.get("steps", max(SCHEDULE_PREVIEW_STEPS, hundred_epochs))
        await self.send("schedule", schedule=await self.run(self.session.schedule_preview, steps))

    async def receive(self, text: str) -> None:
        """Act on one message from the page; a bad one gets an error message back."""
        try:
            if len(text) > MAX_MESSAGE_CHARS:
                raise ValueError(
                    f"a message must be at most {MAX_MESSAGE_CHARS} characters, "
                    f"received {len(text)}"
                )
            message = _json_object(text)
            handler = getattr(self, f"on_{message.get('type')}", None)
            if not isinstance(message.get("type"), str) or handler is None:
                raise ValueError(
                    f"a message's type must be one of {', '.join(MESSAGE_TYPES)}, "
                    f"received {message.get('type')!r}"
                )
            if self.session is None and message["type"] != "config":
                raise ValueError("the first message must be the configuration")
            await handler(message)
        except Exception as error:  # the page hears of it; the server keeps running
            await self.send("error", message=_message(error))


def _message(error: Exception) -> str:
    if isinstance(error, ValueError | TypeError):
        return str(error)
    log.exception("the playground's session failed")
    return f"the session failed: {type(error).__name__}: {error}"


MESSAGE_TYPES = [name[3:] for name in vars(Tab) if name.startswith("on_")]


def _json_object(text: str) -> dict:
    try:
        message = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"a message must be JSON, received {text[:80]!r} ({error})") from None
    if not isinstance(message, dict):
        raise ValueError(f"a message must be a JSON object, received {type(message).__name__}")
    return message


_KIND_NAMES = {dict: "a JSON object", int: "an integer"}


def _field(message: dict, name: str, kind: type):
    value = message.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        shown = repr(value)[:200]
        raise ValueError(
            f"{message.get('type')}: {name!r} must be {_KIND_NAMES[kind]}, received {shown}"
        )
    return value


async def websocket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(max_msg_size=MAX_WEBSOCKET_BYTES, heartbeat=30)
    await socket.prepare(request)
    tab = Tab(socket, request.app[EXECUTOR], secrets.token_urlsafe(12))
    request.app[TABS][tab.id] = tab
    try:
        await tab.send("catalog", catalog=Session.catalog(), session=tab.id)
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                await tab.receive(message.data)
            elif message.type == WSMsgType.BINARY:
                await tab.send("error", message="messages must be JSON text, received binary")
    finally:
        await tab.pause()
        del request.app[TABS][tab.id]
    return socket


# --- uploads and exports -----------------------------------------------------------------
def _tab(request: web.Request) -> Tab:
    tab = request.app[TABS].get(request.query.get("session", ""))
    if tab is None or tab.session is None:
        raise web.HTTPNotFound(
            text=json.dumps({"type": "error", "message": "no such session: reload the page"}),
            content_type="application/json",
        )
    return tab


async def upload(request: web.Request) -> web.Response:
    """A CSV (form field ``file``) and its columns ``x1``, ``x2``, ``target``
    become the data of the tab's session."""
    tab = _tab(request)
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return _error(
            f"the CSV must be at most {MAX_UPLOAD_BYTES // 1024} KB, received "
            f"{request.content_length // 1024 if request.content_length else 'more'} KB",
            status=413,
        )
    file = form.get("file")
    if not isinstance(file, web.FileField):
        return _error("the upload must have a CSV file in the field 'file'")
    columns = {name: form.get(name) for name in ("x1", "x2", "target")}
    missing = [name for name, value in columns.items() if not isinstance(value, str)]
    if missing:
        return _error(f"the upload must name its columns: {', '.join(missing)} missing")
    await tab.pause()
    try:
        await tab.run(
            tab.session.set_data_from_csv,
            file.file.read(),
            **columns,
            max_bytes=MAX_UPLOAD_BYTES,
            max_rows=MAX_UPLOAD_ROWS,
        )
    except (ValueError, TypeError) as error:
        return _error(str(error))
    await tab.send_session()
    return web.json_response(
        {"type": "uploaded", "rows": len(tab.session.x_train), "task": tab.session.task}
    )


async def export_run(request: web.Request) -> web.Response:
    """The tab's run as a script (gradstep, keras, pytorch) or its model as a
    file (keras-model, onnx), to download."""
    kind = request.match_info["kind"]
    if kind not in export.KINDS:
        return _error(f"an export is one of {', '.join(export.KINDS)}, received {kind!r}", 404)
    tab = _tab(request)
    try:
        name, media_type, body = await tab.run(export.export, tab.session, kind)
    except Exception as error:  # the page hears of it; the server keeps running
        return _error(_message(error), 400 if isinstance(error, ValueError | TypeError) else 500)
    return web.Response(
        body=body,
        content_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- the application -------------------------------------------------------------------
async def _close_tabs(app: web.Application) -> None:
    for tab in list(app[TABS].values()):
        tab.playing = False
        await tab.websocket.close(code=WSCloseCode.GOING_AWAY, message=b"the playground stopped")


async def _stop_workers(app: web.Application) -> None:
    app[EXECUTOR].shutdown(wait=True, cancel_futures=True)


def make_app(token: str, host: str = "127.0.0.1") -> web.Application:
    """The playground as an aiohttp application, for ``serve`` or a test client."""
    app = web.Application(middlewares=[guard], client_max_size=MAX_UPLOAD_BYTES)
    app[TOKEN] = token
    app[HOST] = host
    app[TABS] = {}
    # One training thread for all tabs, each tab's slices queued in turn: gradstep's
    # training keeps process-wide state (the BLAS thread limit), so sessions take
    # turns inside it anyway (session.ENGINE_LOCK). The event loop stays free.
    app[EXECUTOR] = concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="playground"
    )
    app.router.add_get("/", index)
    app.router.add_get("/ws", websocket)
    app.router.add_post("/upload", upload)
    app.router.add_get("/export/{kind}", export_run)
    app.router.add_static("/static", STATIC)
    app.on_shutdown.append(_close_tabs)
    app.on_cleanup.append(_stop_workers)
    return app


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = False, token=None):
    """Run the playground until Ctrl-C; print its URL (with the token) first."""
    token = token or secrets.token_urlsafe(24)
    try:
        asyncio.run(_serve(host, port, open_browser, token))
    except KeyboardInterrupt:
        pass
    print("gradstep playground: stopped", flush=True)


async def _serve(host: str, port: int, open_browser: bool, token: str) -> None:
    runner = web.AppRunner(make_app(token, host), handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        shown_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
        url = f"http://{shown_host}:{bound_port}/?token={token}"
        print(f"gradstep playground: {url}\n(Ctrl-C stops it)", flush=True)
        if open_browser:
            # a console browser (lynx, w3m) holds the call until it exits: not on the event loop
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
