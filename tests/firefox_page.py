"""Debian's Firefox ESR in the browser tests: tests/firefox/drive.mjs (puppeteer-core over WebDriver
BiDi, no browser download) in a subprocess, spoken to line by line."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "firefox"
FIREFOX = "/usr/bin/firefox-esr"


def missing() -> str | None:
    """Why Firefox tests cannot run here, or None."""
    if not Path(FIREFOX).exists():
        return "no firefox-esr (apt-get install firefox-esr)"
    if not shutil.which("node"):
        return "no Node.js"
    if not (HERE / "node_modules" / "puppeteer-core").is_dir():
        return "puppeteer-core missing (npm ci --prefix tests/firefox)"
    return None


class Firefox:
    """One headless Firefox; ``init_scripts`` run in every page before the page's own."""

    def __init__(self, init_scripts: tuple[str, ...] = ()):
        self.init_scripts = init_scripts
        self.proc: asyncio.subprocess.Process | None = None
        self.version = ""
        self.page_errors: list[str] = []
        self.console: list[str] = []
        self._next = 0
        self._waiting: dict[int, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="companion-firefox-")

    async def start(self, timeout: float = 240.0) -> None:
        args = []
        for n, source in enumerate(self.init_scripts):
            path = Path(self._tmp.name) / f"init{n}.js"
            path.write_text(source, encoding="utf-8")
            args += ["--init", str(path)]
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(HERE / "drive.mjs"), *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            limit=1 << 22,
        )
        ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self._reader = asyncio.ensure_future(self._read(ready))
        try:
            self.version = await asyncio.wait_for(ready, timeout)
        except BaseException:
            await self.close()
            raise

    async def _read(self, ready: asyncio.Future) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("event") == "ready" and not ready.done():
                ready.set_result(msg.get("version", ""))
            elif msg.get("event") == "pageerror":
                self.page_errors.append(msg.get("text", ""))
            elif msg.get("event") == "console":
                self.console.append(msg.get("text", ""))
            elif (waiter := self._waiting.pop(msg.get("id"), None)) is not None and not waiter.done():
                waiter.set_result(msg)
        stderr = (await self.proc.stderr.read()).decode(errors="replace")[-2000:] if self.proc.stderr else ""
        failure = RuntimeError(f"the Firefox driver exited: {stderr}")
        if not ready.done():
            ready.set_exception(failure)
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(failure)

    async def call(self, cmd: str, timeout: float = 90.0, **args: Any) -> Any:
        assert self.proc is not None and self.proc.stdin is not None
        self._next += 1
        waiter: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = waiter
        self.proc.stdin.write((json.dumps({"id": self._next, "cmd": cmd, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        answer = await asyncio.wait_for(waiter, timeout)
        if not answer.get("ok"):
            raise AssertionError(f"Firefox {cmd} failed: {answer.get('error')}")
        return answer.get("value")

    async def open(self, url: str) -> "FirefoxPage":
        return FirefoxPage(self, await self.call("open", url=url))

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                await self.call("close", timeout=20)
            except Exception:
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)
        self._tmp.cleanup()


class FirefoxPage:
    """The part of Playwright's Page the shared stats helpers use."""

    def __init__(self, firefox: Firefox, number: int):
        self.firefox = firefox
        self.number = number

    async def evaluate(self, fn: str, arg: Any = None) -> Any:
        return await self.firefox.call("eval", page=self.number, fn=fn.strip(), arg=arg)

    async def click(self, selector: str) -> None:
        await self.firefox.call("click", page=self.number, selector=selector)
