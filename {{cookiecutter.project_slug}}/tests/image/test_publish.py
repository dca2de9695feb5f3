"""Tests of publishing the image: the push, its digest, the login's token, what CI's next step is handed."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.image.context import ImageError
from {{ cookiecutter.package_name }}.image.publish import push, report
from {{ cookiecutter.package_name }}.image.runtime import Image

from tests.image.engines import calls, install_engine

DIGEST = "sha256:" + "d" * 64
TOKEN = "ghs_not-a-real-token"


@pytest.mark.parametrize("engine", ["docker", "podman", "buildah"])
def test_the_image_is_pushed_under_its_model_version_and_its_digest_read(
    tmp_path: Path, engine: str
) -> None:
    """Each engine tags and pushes `repository:<version>`: its digest is the pushed one (docker: RepoDigests)."""
    image = Image((str(install_engine(tmp_path, engine)),), "tc:3")

    assert push(image, "ghcr.io/owner/tc") == ("ghcr.io/owner/tc:3", DIGEST)

    verbs = [call["args"][:2] for call in calls(tmp_path)]
    assert verbs[0] == ["tag", "tc:3"]
    assert (
        verbs[1] == ["push", "ghcr.io/owner/tc:3"]
        if engine == "docker"
        else ["push", "--digestfile"]
    )
    assert not any(call["args"][0] == "login" for call in calls(tmp_path)), "no token, no login"


def test_the_token_goes_to_the_engine_on_standard_input_only(tmp_path: Path) -> None:
    """With a token, the engine logs in to the repository's registry first; the token is in no argument."""
    image = Image((str(install_engine(tmp_path, "podman")),), "tc:3")

    push(image, "ghcr.io/owner/tc", "someone", TOKEN)

    login = calls(tmp_path)[0]["args"]
    assert login == ["login", "ghcr.io", "--username", "someone", "--password-stdin"]
    assert (tmp_path / "login.stdin").read_text() == TOKEN
    assert not any(TOKEN in " ".join(call["args"]) for call in calls(tmp_path))


@pytest.mark.parametrize("repository", ["", "ghcr.io/Owner/tc", "tc", "ghcr.io/owner/tc:3"])
def test_a_repository_no_registry_takes_is_refused_before_anything_runs(
    tmp_path: Path, repository: str
) -> None:
    """Upper case, no registry or a tag of its own: one line naming IMAGE_REPOSITORY, nothing pushed."""
    image = Image((str(install_engine(tmp_path, "docker")),), "tc:3")

    with pytest.raises(ImageError, match=r"^IMAGE_REPOSITORY=.* is not a repository to push to"):
        push(image, repository)
    assert calls(tmp_path) == []


def test_a_refused_push_says_what_the_registry_said(tmp_path: Path) -> None:
    """A registry that refuses the push: ImageError with its words, and no digest handed on."""
    image = Image((str(install_engine(tmp_path, "docker", mode="crash")),), "tc:3")

    with pytest.raises(
        ImageError, match=r"push ghcr.io/owner/tc:3 failed \(1\): .*permission_denied"
    ):
        push(image, "ghcr.io/owner/tc")


def test_ci_gets_the_image_and_its_digest_as_step_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On GitHub Actions (GITHUB_OUTPUT set), the next step reads image= and digest=; elsewhere, nothing."""
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    report("ghcr.io/owner/tc:3", DIGEST)
    outputs = tmp_path / "outputs"
    outputs.write_text("earlier=kept\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))

    report("ghcr.io/owner/tc:3", DIGEST)

    assert outputs.read_text() == f"earlier=kept\nimage=ghcr.io/owner/tc:3\ndigest={DIGEST}\n"
