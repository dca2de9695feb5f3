"""Tests for the deploy commands end to end: a real sqlite registry and a real server on a loopback port."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator

import pytest

from {{ cookiecutter.package_name }}.deploy import strategies
from {{ cookiecutter.package_name }}.deploy.aliases import PromotionError, reconcile
from {{ cookiecutter.package_name }}.deploy.launch import ServerPaths
from {{ cookiecutter.package_name }}.deploy.server import ServerError
from {{ cookiecutter.package_name }}.model.load import ModelNotFoundError
from {{ cookiecutter.package_name }}.names import ENV_PREFIX
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


def test_a_busy_port_is_refused_before_the_registry_moves(served: Settings) -> None:
    """Another program on the port fails the deploy at once: no alias, history or tag is written."""
    strategies.stop(served)
    before = reconcile(Registry.open(served))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", served.serve_port))
        taken.listen()
        for strategy in ("blue-green", "canary"):
            with pytest.raises(
                ServerError, match=rf"^port {served.serve_port} on 127.0.0.1 is in use"
            ):
                strategies.deploy(served, None, strategy, 10.0, lambda _: None)
        with pytest.raises(ServerError, match="is in use by another program"):
            strategies.rollback(served, lambda _: None)
    after = reconcile(Registry.open(served))
    assert (after.aliases, after.history, after.rolled_back) == (
        before.aliases,
        before.history,
        before.rolled_back,
    ), "the registry is exactly as it was"


def test_a_failed_start_restores_the_state_and_tags_nothing(
    served: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that will not start (not the model's fault) puts the aliases back and rolls nothing back.

    The champion is redeployed as it is: the undo must not roll back a champion this deploy never moved.
    """
    strategies.stop(served)
    before = reconcile(Registry.open(served))
    champion = before.aliases["champion"]
    # The server's own process reads its settings from the environment: there it finds a bad one and exits.
    monkeypatch.setenv(f"{ENV_PREFIX}SERVE_WORKERS", "0")
    for version in (newest(served), champion):
        with pytest.raises(
            ServerError, match=r"(?s)not deployed: the server exited .*back on version"
        ):
            strategies.deploy(served, version, "blue-green", 10.0, lambda _: None)
        after = reconcile(Registry.open(served))
        assert (after.aliases, after.history) == (before.aliases, before.history)
        assert (
            after.rolled_back == before.rolled_back
        ), "a server that failed is not the model's fault"


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
