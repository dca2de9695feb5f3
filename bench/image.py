"""Benchmark serving images side by side: their size, and the seconds from start to the first `/health` answer.

    .venv/bin/python bench/image.py OLD_TAG NEW_TAG [--repeat 3] [--base localhost/debian-python:bookworm]

Reuses images already built (`make image` in two bakes, e.g. one of an older template commit; the README says
how), so the figures compare the images only. Each round starts every image once, interleaved, with buildah on
the host's network (vfs storage, chroot isolation, as tests/test_image.py runs them); medians are printed, and
the new image's share of the old one's size and start-up. `/health` answers once the model is loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.request

BUILDAH = ["buildah", "--storage-driver", "vfs"]
CONTAINER = "bench-image"


def buildah(*args: str) -> str:
    """Run buildah; its output."""
    return subprocess.run([*BUILDAH, *args], capture_output=True, text=True, check=True).stdout


def size_mb(tag: str) -> float:
    """The image's uncompressed size in MB (10^6 bytes), from buildah's listing ("531 MB", "1.16 GB")."""
    number, unit = json.loads(buildah("images", "--json", tag))[0]["size"].split()
    return float(number) * {"kB": 1e-3, "MB": 1.0, "GB": 1e3}[unit]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seconds_to_health(tag: str, timeout: float = 180.0) -> float:
    """Start the image's command in a fresh container; seconds until /health answers 200."""
    subprocess.run([*BUILDAH, "rm", CONTAINER], capture_output=True, check=False)
    buildah("from", "--name", CONTAINER, tag)
    config = json.loads(buildah("inspect", "--type", "image", tag))["OCIv1"]["config"]
    prefix = next(e.split("=")[0] for e in config["Env"] if e.endswith("_SERVE_PORT=8080"))
    port = free_port()
    command = [
        *BUILDAH, "run", "--isolation", "chroot",
        "--env", f"{prefix.removesuffix('PORT')}HOST=127.0.0.1", "--env", f"{prefix}={port}",
        CONTAINER, "--", *config.get("Entrypoint", []), *config["Cmd"],
    ]  # fmt: skip
    started = time.monotonic()
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        while time.monotonic() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{tag} did not answer /health within {timeout:.0f} s")
    finally:
        os.killpg(
            server.pid, signal.SIGTERM
        )  # the group this script started: buildah and the server
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        subprocess.run([*BUILDAH, "rm", CONTAINER], capture_output=True, check=False)


def main() -> None:
    """Measure both images, interleaved; print sizes, start-up medians and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tags = {"old": args.old, "new": args.new}
    sizes = {name: size_mb(tag) for name, tag in tags.items()}
    samples: dict[str, list[float]] = {name: [] for name in tags}
    for _ in range(args.repeat):
        for name, tag in tags.items():
            samples[name].append(seconds_to_health(tag))
    starts = {name: statistics.median(values) for name, values in samples.items()}
    for name, tag in tags.items():
        print(f"{name}: {tag}  {sizes[name]:.0f} MB  /health after {starts[name]:.1f} s "
              f"(median of {args.repeat}: {', '.join(f'{s:.1f}' for s in samples[name])})")  # fmt: skip
    print(
        f"new/old: size {sizes['new'] / sizes['old']:.2f}x, start-up {starts['new'] / starts['old']:.2f}x"
        f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
