"""Stand-in image engines: small real programs put on PATH, that build nothing but serve `/health`.

A stand-in answers the verbs the runtime and publishing use (build, bud, images, inspect, create, from, rm, run,
start, stop; login, tag, push, image inspect) and notes every call in `calls.jsonl` beside itself (a login's
standard input in `login.stdin`). Its `start` (docker, podman: of what `create`
was given) and `run` (buildah) serve HTTP on the port, as the image's server would; `crash` and `mute` make
it exit at once or never answer.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

ENGINE = r"""
import json, os, signal, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARGS = sys.argv[1:]
GLOBAL = 2 if ARGS[:1] == ["--storage-driver"] else 0  # an engine's global option, before the verb
VERB = ARGS[GLOBAL] if len(ARGS) > GLOBAL else ""


def health(port, host="127.0.0.1"):
    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"status": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    HTTPServer((host, port), Health).serve_forever()


if VERB != "health":
    with (HERE / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps({"args": ARGS, "cwd": os.getcwd()}) + "\n")
if VERB == "health":  # the image's own command, as buildah runs it
    setting = {name.rsplit("_", 1)[-1]: value for name, value in os.environ.items() if "_SERVE_" in name}
    health(int(setting["PORT"]), setting["HOST"])
elif VERB in ("info", "version") and MODE == "nodaemon":
    sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
elif VERB in ("build", "bud") and MODE == "crash":
    sys.exit(125)
elif VERB == "images":
    print(SIZE)
elif VERB == "inspect":
    config = {"Entrypoint": [sys.executable], "Cmd": [__file__, "health"]}
    print(json.dumps({"OCIv1": {"config": config}}))
elif VERB == "stop":
    try:
        os.kill(int((HERE / "running.pid").read_text()), signal.SIGTERM)
    except ProcessLookupError:
        sys.exit("Error: no container named so is running")
elif VERB == "login":  # the token comes on standard input, never as an argument
    (HERE / "login.stdin").write_text(sys.stdin.read())
elif VERB == "push":
    if MODE == "crash":
        sys.exit("Error: denied: permission_denied: write_package")
    if "--digestfile" in ARGS:  # podman and buildah write the pushed digest there
        Path(ARGS[ARGS.index("--digestfile") + 1]).write_text("sha256:" + "d" * 64)
elif VERB == "image":  # docker image inspect REPOSITORY:TAG, after a push
    repository = ARGS[-1].rpartition(":")[0]
    print(json.dumps([{"RepoDigests": ["other/name@sha256:" + "e" * 64, repository + "@sha256:" + "d" * 64]}]))
elif VERB == "create":
    (HERE / "created.json").write_text(json.dumps(ARGS))
elif VERB in ("run", "start"):
    (HERE / "running.pid").write_text(str(os.getpid()))
    if MODE == "crash":
        sys.exit("Error: no such image")
    if MODE == "mute":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        time.sleep(600)
    if VERB == "start":  # docker and podman: this process is the server, on the port created with
        created = json.loads((HERE / "created.json").read_text())
        health(int(created[created.index("-p") + 1].split(":")[1]))
    # buildah: the image's command runs below this process, with the --env settings it was given
    settings = dict(ARGS[i + 1].split("=", 1) for i, arg in enumerate(ARGS) if arg == "--env")
    env = {**os.environ, **settings}
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # buildah itself is never signalled
    sys.exit(subprocess.call(ARGS[ARGS.index("--") + 1 :], env=env))
"""


def install_engine(folder: Path, name: str, mode: str = "serve", size: str = "42.1MB") -> Path:
    """Write a stand-in engine called `name` into `folder`; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    header = f"#!{sys.executable}\nMODE = {mode!r}\nSIZE = {size!r}\n"
    program.write_text(header + ENGINE)
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def calls(folder: Path) -> list[dict[str, Any]]:
    """The stand-in engines' calls in `folder`, in order: their arguments and working folder."""
    path = folder / "calls.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]
