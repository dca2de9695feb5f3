"""Tests for params as MLflow stores them: flattened keys, cut values, and the call arguments worth logging."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from {{ cookiecutter.package_name }}.tracking import flatten_params
from {{ cookiecutter.package_name }}.tracking.params import loggable_arguments


class Config(BaseModel):
    """A config object, as passed to a training function."""

    depth: int = 3
    layers: list[int] = [8, 4]


def test_flatten_params() -> None:
    """Nested mappings and models become dotted keys; long values are cut to MLflow's limit."""
    params: dict[str, Any] = {
        "a": {"b": {"c": 1}},
        "m": Config(),
        "nested": {"config": Config(depth=5)},
        "l": [1, 2],
        "none": None,
        "long": "x" * 7000,
    }
    flat = flatten_params(params)
    assert flat == {
        "a.b.c": "1",
        "m.depth": "3",
        "m.layers": "[8, 4]",
        "nested.config.depth": "5",
        "nested.config.layers": "[8, 4]",
        "l": "[1, 2]",
        "none": "None",
        "long": "x" * 6000,
    }, "flattened params"
    assert flatten_params({"k": 1}, prefix="train.") == {"train.k": "1"}, "prefix"


def test_loggable_arguments_keep_simple_values_and_defaults() -> None:
    """A call's simple, mapping and model arguments are kept (defaults too); opaque objects are left out."""

    def fit(
        alpha: float, config: Config, data: object = None, rows: object = (), note: str = "x"
    ) -> None:
        """A training function's signature."""

    config = Config()
    found = loggable_arguments(fit, (0.5, config), {"data": object(), "rows": [1, 2]})

    assert found == {"alpha": 0.5, "config": config, "note": "x"}, "no opaque object, no list"
    assert loggable_arguments(fit, (1.0, config, None), {}) == {
        "alpha": 1.0,
        "config": config,
        "data": None,
        "note": "x",
    }, "None is a loggable value"
