"""Tests for the deploy commands end to end: a real sqlite registry and a real server on a loopback port."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.deploy import strategies
from {{ cookiecutter.package_name }}.deploy.aliases import PromotionError
from {{ cookiecutter.package_name }}.deploy.launch import ServerPaths
from {{ cookiecutter.package_name }}.deploy.server import ServerError
from {{ cookiecutter.package_name }}.model.load import ModelNotFoundError
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import Registry

from .conftest import SHIPPED_PARAMS, aliases


@pytest.fixture
def served(two_versions: Settings) -> Iterator[Settings]:
    """The two-version project; whatever server a test starts is stopped afterwards."""
    yield two_versions
    strategies.stop(two_versions)


def newest(settings: Settings) -> str:
    """The newest registered version: what a deploy picks."""
    return Registry.open(settings).record().versions[-1]


def served_lines(lines: list[str], settings: Settings, served: str, smoke: str) -> None:
    """The three lines a command that serves ends with: what is served where, the smoke test, a curl."""
    url = f"http://127.0.0.1:{settings.serve_port}"
    assert lines[-3].startswith(f"serving {settings.model_name} version {served}"), lines
    assert f" at {url}" in lines[-3], lines
    assert lines[-2].startswith(f"smoke prediction ({smoke}): ["), lines
    assert lines[-1].startswith(f"try: curl -s {url}/invocations -H"), lines


def test_deploy_rollback_restart_and_stop(served: Settings) -> None:
    """Blue-green serves the gated version; rollback serves the one before; restart and stop say so."""
    name, new = served.model_name, newest(served)
    said: list[str] = []
    strategies.deploy(served, None, "blue-green", 10.0, said.append)
    assert said[0].splitlines()[0].split()[:2] == ["metric", "candidate"], "the gate's table first"
    assert said[1] == f"{name} version {new} is the champion"
    served_lines(said, served, f"{new} (champion)", f"champion {new}")
    assert aliases(served) == {"champion": new, "previous": "1"}

    said.clear()
    strategies.rollback(served, said.append)
    assert said[0] == f"{name} champion is version 1 again"
    served_lines(said, served, "1 (champion)", "champion 1")
    assert aliases(served) == {"champion": "1"}

    said.clear()
    strategies.restart(served, said.append)
    served_lines(said, served, "1 (champion)", "champion 1")
    assert strategies.stop(served) is True
    assert strategies.stop(served) is False, "nothing left to stop"


def test_a_canary_serves_beside_the_champion_until_aborted(served: Settings) -> None:
    """The challenger takes its share; a restart keeps it; abort gives every request to the champion."""
    new, said = newest(served), list[str]()
    strategies.deploy(served, None, "canary", 50.0, said.append)
    assert said[1] == f"{served.model_name} version {new} is the challenger"
    url = f"http://127.0.0.1:{served.serve_port}"
    both = f"1 (champion) at {url}, version {new} (challenger) on 50% of requests"
    served_lines(said, served, both, f"challenger {new}")

    said.clear()
    strategies.restart(served, said.append)
    served_lines(said, served, both, f"challenger {new}")

    said.clear()
    strategies.canary_abort(served, said.append)
    served_lines(said, served, "1 (champion)", "champion 1")
    assert aliases(served) == {"champion": "1"}
    assert Registry.open(served).record().rolled_back == {new}
    with pytest.raises(PromotionError, match="no 'challenger': start a canary"):
        strategies.canary_promote(served, said.append)


def test_a_deploy_the_server_cannot_serve_is_undone(served: Settings) -> None:
    """When no server can start, the promotion is withdrawn and the error says what was put back."""
    new = newest(served)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", served.serve_port))
        taken.listen()
        with pytest.raises(ServerError) as refused:
            strategies.deploy(served, None, "blue-green", 10.0, lambda _: None)
    assert str(refused.value).startswith(
        f"version {new} not deployed: port {served.serve_port} on 127.0.0.1 is in use by another program"
    )
    assert str(refused.value).endswith("; the 'champion' alias is back on version 1")
    assert aliases(served) == {"champion": "1"}
    assert Registry.open(served).record().rolled_back == {new}, "never picked again by default"


def test_a_canary_the_server_cannot_serve_is_dropped(served: Settings) -> None:
    """A canary that cannot start leaves no challenger alias behind."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", served.serve_port))
        taken.listen()
        with pytest.raises(ServerError, match=r"the 'challenger' alias is removed$"):
            strategies.deploy(served, None, "canary", 10.0, lambda _: None)
    assert aliases(served) == {"champion": "1"}


def test_commands_on_an_empty_registry_say_what_to_run(settings: Settings) -> None:
    """With nothing trained, each command fails in one line naming the next step; nothing is started."""
    shutil.copy(SHIPPED_PARAMS, settings.project_root / "params.yaml")
    with pytest.raises(PromotionError, match="run `make train` first"):
        strategies.promote(settings, None, lambda _: None)
    for command in (strategies.rollback, strategies.restart):
        with pytest.raises(ModelNotFoundError, match="has no version with alias 'champion'"):
            command(settings, lambda _: None)
    with pytest.raises(PromotionError, match="no canary is running"):
        strategies.canary_abort(settings, lambda _: None)
    assert strategies.stop(settings) is False
    assert not ServerPaths.of(settings).pid_file.exists()
