"""Publishing the serving image: log in to a registry, push the image `make image` built, read its digest.

The digest (`sha256:...`) is what names the image for good (a tag can move): it is what CI's opt-in image job
attests (see docs/deploy.md, "Publishing the image"). The registry's token goes to the engine on standard
input, never as an argument that `ps` would show.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from .context import ImageError, run
from .runtime import Image

# A repository as registries accept it: lower case, a registry host first (ghcr.io/owner/name).
REPOSITORY = re.compile(r"^[a-z0-9.-]+(:\d+)?(/[a-z0-9._-]+)+$")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def push(
    image: Image, repository: str, user: str | None = None, token: str | None = None
) -> tuple[str, str]:
    """Tag the image `repository:<model version>`, push it (logged in first when given a token).

    Returns what was pushed and its digest.
    """
    if not REPOSITORY.match(repository):
        raise ImageError(
            f"IMAGE_REPOSITORY={repository!r} is not a repository to push to: a registry and a lower-case "
            "path, e.g. ghcr.io/<owner>/<project>"
        )
    target = f"{repository}:{image.tag.rpartition(':')[2]}"
    if token:
        registry = repository.split("/", 1)[0]
        run(
            [*image.tool, "login", registry, "--username", user or "token", "--password-stdin"],
            stdin=token,
        )
    run([*image.tool, "tag", image.tag, target])
    if image.tool[0].endswith(
        "docker"
    ):  # docker has no digest file: the pushed digest is a RepoDigest
        run([*image.tool, "push", target])
        found = json.loads(run([*image.tool, "image", "inspect", target]).stdout)[0]["RepoDigests"]
        digest = next((d.rpartition("@")[2] for d in found if d.startswith(f"{repository}@")), "")
    else:
        with tempfile.TemporaryDirectory() as folder:
            written = Path(folder) / "digest"
            run([*image.tool, "push", "--digestfile", str(written), target])
            digest = written.read_text().strip()
    if not DIGEST.fullmatch(digest):
        raise ImageError(f"{target} was pushed, but its digest could not be read (got {digest!r})")
    return target, digest


def report(target: str, digest: str) -> None:
    """On GitHub Actions, hand the pushed image and its digest to the next steps (what is attested)."""
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with Path(output).open("a", encoding="utf-8") as steps:
            steps.write(f"image={target}\ndigest={digest}\n")
