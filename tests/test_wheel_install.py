"""Installed like a Python application: the built wheel is a working server without the checkout.

The test builds the wheel as the README tells the operator (``pip wheel --no-deps``), installs it into a
fresh virtual environment in a temporary folder, and starts that environment's ``companion serve`` with the
command line of the systemd unit in docs/deploy/ (on a temporary data folder and a free loopback port),
from a working directory outside the checkout and without PYTHONPATH.
The room page, the browser client, the method texts and the export templates must then come from inside
the installed package. The environment sees the already-installed dependencies
(``--system-site-packages``) and pip is told to use no index at all: nothing is downloaded, and a
dependency the wheel names but the machine lacks fails the install loudly.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from companion.serve_process import free_port

ROOT = Path(__file__).resolve().parent.parent
# Left out of the copy that is built: what a build leaves behind, and what the package never needs.
NOT_BUILT = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "node_modules", "artifacts", "tests",
)
SHIPPED = ("static", "prompts")
UNIT = ROOT / "docs" / "deploy" / "companion.service"


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, the venv's bin folder, env for its commands, a working folder outside the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=NOT_BUILT, symlinks=True)
    # Not the checkout's own python path: the venv must find the installed copy and nothing else.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    dist = tmp / "dist"
    # The build backend is the test extras' setuptools: no isolated download of it.
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
         "-w", str(dist), str(src)], tmp, env, 300)
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], tmp, env, 120)
    # pip itself comes from the system site-packages; it installs into the venv it runs in.
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
         "--no-cache-dir", str(wheels[0])], tmp, env, 300)
    work = tmp / "work"
    work.mkdir()
    return wheels[0], venv / "bin", env, work


def test_wheel_holds_every_shipped_file(installed):
    wheel = installed[0]
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in SHIPPED:
        files = [p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert files
        missing = [str(p.relative_to(ROOT)) for p in files if f"companion/{p.relative_to(ROOT).as_posix()}" not in names]
        assert not missing, f"not in the wheel: {missing}"
    # The schema's migrations (run by the server at start) with Alembic's template for new ones.
    migrations = [p for p in (ROOT / "companion" / "migrations").rglob("*") if p.suffix in (".py", ".mako")]
    assert len(migrations) >= 4
    missing = [str(p.relative_to(ROOT)) for p in migrations if p.relative_to(ROOT).as_posix() not in names]
    assert not missing, f"not in the wheel: {missing}"


def test_installed_package_finds_its_files_inside_itself(installed):
    _, bin_dir, env, work = installed
    out = run([str(bin_dir / "python"), "-c",
               "import json, companion.shipped as s, companion.methods as m;"
               "print(json.dumps([str(s.STATIC), str(s.PROMPTS), str(m.SHIPPED_METHODS)]))"], work, env, 60)
    venv = bin_dir.parent.resolve()
    for path in json.loads(out):
        assert Path(path).is_dir(), path
        assert Path(path).is_relative_to(venv), f"{path} is not inside the installed package under {venv}"


def unit_command(bin_dir: Path, data: Path, port: int) -> tuple[list[str], str]:
    """The unit's ExecStart with this test's program, data folder and port; and its --public-url."""
    line = next(line for line in UNIT.read_text(encoding="utf-8").splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[:2] == ["/opt/companion/bin/companion", "serve"], argv
    assert argv[argv.index("--data-dir") + 1] == "/var/lib/companion", "the unit's data folder is its StateDirectory"
    argv[0] = str(bin_dir / "companion")
    argv[argv.index("--data-dir") + 1] = str(data)
    argv[argv.index("--port") + 1] = str(port)
    return argv, argv[argv.index("--public-url") + 1]


def test_installed_advice_bench_asks_for_a_rounds_file(installed, tmp_path):
    """The evaluation rounds stay in the checkout: the installed bench says so, and scores a file it is given."""
    _, bin_dir, env, work = installed
    done = subprocess.run([str(bin_dir / "companion"), "bench", "advice"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "--table FILE" in done.stderr and "Traceback" not in done.stderr, done.stderr
    table = tmp_path / "rounds.json"
    shutil.copy(ROOT / "tests" / "data" / "advice" / "rounds_spoken.json", table)
    out = run([str(bin_dir / "companion"), "bench", "advice", "--table", str(table), "--json"], work, env, 120)
    assert json.loads(out)["tables"] == [str(table)]


class Client:
    def __init__(self, base: str):
        self.base = base

    def request(self, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = path if path.startswith("http") else self.base + path
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=20) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def json(self, path: str, body: dict | None = None, token: str | None = None, status: int = 200) -> dict:
        got, raw = self.request(path, body, token)
        assert got == status, (path, got, raw[:500])
        return json.loads(raw)


def test_installed_server_serves_room_client_and_methods(installed):
    _, bin_dir, env, work = installed
    data = work / "data"
    # As the operator does before the first start: a facilitator, whose link creates rooms.
    out = run([str(bin_dir / "companion"), "facilitator", "add", "Beheer", "--data-dir", str(data)], work, env, 60)
    facilitator = re.search(r"/f/(\S+)", out).group(1)
    port = free_port()
    log_path = work / "serve.log"
    with open(log_path, "wb") as log:
        # As the unit starts it, speech model included.
        argv, public_url = unit_command(bin_dir, data, port)
        server = subprocess.Popen(
            argv,
            cwd=work, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        client = Client(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 180
        while client_status(client) != 200:
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
            time.sleep(0.3)

        methods = client.json("/api/methods")
        assert methods["errors"] == []
        assert {m["id"] for m in methods["methods"]} == {p.stem for p in (ROOT / "prompts" / "methods").glob("*.toml")}

        room = client.json("/api/rooms", {"name": "Team Noord", "method": "roddelmodel", "language": "nl",
                                          "facilitator_name": "Fleur"}, facilitator, status=201)
        token = room["token"]
        assert room["room_url"].startswith(public_url + "/"), room["room_url"]
        status, page = client.request(client.base + room["room_url"].removeprefix(public_url), token=token)
        assert status == 200 and page == (ROOT / "static" / "room.html").read_bytes()
        status, script = client.request("/static/js/room.js")
        assert status == 200 and script == (ROOT / "static" / "js" / "room.js").read_bytes()

        # The method's texts, as written in prompts/methods/roddelmodel.toml, reach the room.
        method = tomllib.loads((ROOT / "prompts" / "methods" / "roddelmodel.toml").read_text(encoding="utf-8"))
        state = client.json(f"/api/rooms/{room['room_id']}/commands", {"command": "session.start", "args": {}}, token)["state"]
        # A room on its own has no meeting before it: the file's follow-up step is left out.
        case_steps = [s for s in method["steps"] if s["kind"] != "followup"]
        assert [s["title"]["nl"] for s in state["room"]["method"]["steps"]] == [s["title"]["nl"] for s in case_steps]
        step_text = state["step"]["text"]["nl"]
        first_line = case_steps[0]["text"]["nl"]["facilitator"].strip().splitlines()[-1]
        assert first_line and first_line in step_text, (first_line, step_text[:300])

        # The export templates (prompts/export) render the advice list.
        status, export = client.request(f"/api/rooms/{room['room_id']}/advice/export.md", token=token)
        assert status == 200 and export.decode().startswith("# Adviezen: Team Noord"), export[:300]
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert "missing" not in log_path.read_text(errors="replace")


def client_status(client: Client) -> int | None:
    try:
        return client.request("/healthz")[0]
    except OSError:
        return None


def test_every_python_package_of_the_checkout_is_listed_for_the_wheel():
    """pyproject lists the packages by name: a new subpackage left out installs fine in a checkout and
    breaks the installed server at its first import (companion.groups, then companion.media.rtp)."""
    root = Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "companion").rglob("__init__.py")}
    assert found - listed == set(), found - listed
