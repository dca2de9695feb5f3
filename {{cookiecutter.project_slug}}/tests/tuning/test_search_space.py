"""The `tune:` section of params.yaml: what a search space may hold, and the refusals that name the key."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.params import parse_params

from tests.tuning.conftest import PARAMS_FILE


def with_tune(**changes: Any) -> dict[str, Any]:
    """The shipped params with the tune: section changed."""
    raw: dict[str, Any] = yaml.safe_load(PARAMS_FILE.read_text())
    raw["tune"] = {**raw["tune"], **changes}
    return raw


def test_the_shipped_space_searches_every_model_parameter() -> None:
    """The shipped search covers each model parameter, and its metric is the gate's first limit."""
    params = parse_params(with_tune())
    assert params.tune is not None
    assert set(params.tune.space) == set(params.model.model_dump())
    metric, higher = params.tuned_metric()
    assert metric == next(iter(params.gate.limits))
{%- if cookiecutter.task == "classification" %}
    assert higher, "roc_auc: higher is better"
{%- else %}
    assert not higher, "rmse: lower is better"
{%- endif %}


def test_a_params_file_without_a_search_still_loads() -> None:
    """tune: is optional: only `make tune` needs it."""
    raw = with_tune()
    del raw["tune"]
    assert parse_params(raw).tune is None


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"depth": {"low": 1, "high": 3}}, "tune.space.depth: not a model parameter (known: "),
        (
            {"learning_rate": {"low": 0.3, "high": 0.1}},
            "empty range: low 0.3 is not below high 0.1",
        ),
        (
            {"learning_rate": {"low": 0.0, "high": 0.3, "log": True}},
            "a log range must start above 0",
        ),
        ({"learning_rate": {"low": 0.1}}, "a range needs both low and high"),
        (
            {"learning_rate": {"low": 0.1, "high": 0.2, "choices": [0.1]}},
            "either choices or low/high",
        ),
        (
            {"learning_rate": {"low": 0.1, "high": 2.0}},
            "tune.space.learning_rate: 2.0 is not a valid",
        ),
        ({"max_iter": {"low": 1.5, "high": 10}}, "1.5 is not a whole number"),
        ({"max_leaf_nodes": {"choices": [1, 15]}}, "tune.space.max_leaf_nodes: 1 is not a valid"),
        ({"learning_rate": {"lo": 0.1, "high": 0.2}}, "tune.space.learning_rate.lo"),
        ({}, "tune.space"),
    ],
)
def test_a_bad_space_is_refused_by_key(space: dict[str, Any], message: str) -> None:
    """Unknown parameters, empty ranges and impossible values are refused, naming the key."""
    with pytest.raises(PipelineError) as refused:
        parse_params(with_tune(space=space))
    assert message in str(refused.value)


def test_the_metric_must_be_the_tasks() -> None:
    """A metric of the other task (or a typo) would optimise nothing: refused."""
    with pytest.raises(PipelineError, match=r"tune\.metric: not a"):
        parse_params(with_tune(metric="bleu"))


@pytest.mark.parametrize(("direction", "higher"), [("maximize", True), ("minimize", False)])
def test_a_direction_overrides_the_metrics_own(direction: str, higher: bool) -> None:
    """`direction` wins over the metric's usual one."""
    assert parse_params(with_tune(direction=direction)).tuned_metric()[1] is higher
