"""Tests for reading params.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.params import (
    TASK_METRICS,
    Bounds,
    Params,
    load_params,
    parse_params,
)
from {{ cookiecutter.package_name }}.pipeline.params_file import point_data_at

from tests.pipeline.conftest import PARAMS_FILE


def shipped() -> dict[str, Any]:
    """The shipped params.yaml as a plain mapping, to break in tests."""
    raw: dict[str, Any] = yaml.safe_load(PARAMS_FILE.read_text())
    return raw


def test_shipped_params_are_valid(params: Params) -> None:
    """The params.yaml the project ships with validates."""
    assert params.task in ("classification", "regression")
    assert params.gate.limits, "the deploy gate has thresholds"


def test_bad_value_names_the_dotted_key() -> None:
    """An out-of-range value is reported with its full key and value."""
    raw = shipped()
    raw["split"]["test_size"] = 1.5
    with pytest.raises(PipelineError, match=r"split\.test_size=1\.5: Input should be less than 1"):
        parse_params(raw)


def test_missing_and_unknown_keys_are_named() -> None:
    """A missing section and a misspelt key are both reported."""
    raw = shipped()
    del raw["model"]
    raw["seeed"] = 1
    with pytest.raises(PipelineError) as caught:
        parse_params(raw)
    assert "  model: Field required" in str(caught.value)
    assert "  seeed=1: Extra inputs are not permitted" in str(caught.value)


def test_split_must_leave_training_rows() -> None:
    """Test and validation fractions that eat the training set are rejected."""
    raw = shipped()
    raw["split"] = {"test_size": 0.5, "val_size": 0.45}
    with pytest.raises(PipelineError, match="at least 10% to train on"):
        parse_params(raw)


def test_unreadable_files_fail_clearly(tmp_path: Path) -> None:
    """A missing file and broken YAML each name the file."""
    with pytest.raises(PipelineError, match="parameters file not found"):
        load_params(tmp_path / "params.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(PipelineError, match=r"broken\.yaml, line 2: not valid YAML"):
        load_params(broken)


def test_bounds_describe_violations() -> None:
    """Bounds say which side a value crosses."""
    bounds = Bounds(min=0.5, max=0.9)
    assert bounds.violation(0.7) is None
    assert bounds.violation(0.2) == "0.2 < min 0.5"
    assert bounds.violation(0.95) == "0.95 > max 0.9"


@pytest.mark.parametrize(
    ("section", "metric"),
    [("gate", "acuracy"), ("gate", "r2"), ("alerts", "accuracy"), ("alerts", "val_rmse")],
    ids=["typo", "other-task", "alert-without-split", "alert-other-task"],
)
def test_limits_on_metrics_the_task_does_not_produce_are_refused(section: str, metric: str) -> None:
    """A limit the gate or an alert could never check names its key and lists the task's metrics."""
    raw = shipped()
    # A classification project whose other section is valid, whatever task this project was baked for.
    raw["task"] = "classification"
    raw["gate"]["limits"] = {"accuracy": {"min": 0.5}}
    raw["alerts"] = {"limits": {"val_accuracy": {"min": 0.5}}}
    raw[section]["limits"] = {metric: {"min": 0.5}}
    with pytest.raises(PipelineError) as caught:
        parse_params(raw)
    message = str(caught.value)
    assert f"{section}.limits.{metric}: not a classification metric" in message
    assert "accuracy" in message.split("known:")[1], "the task's metrics are listed"


def test_bounds_must_be_ordered_and_finite() -> None:
    """Min above max, and infinite or NaN bounds, are refused."""
    with pytest.raises(ValueError, match=r"min 0\.9 is greater than max 0\.5"):
        Bounds(min=0.9, max=0.5)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            Bounds(min=bad)


def test_nan_always_violates_bounds() -> None:
    """A metric that is not a number never passes a bound."""
    assert Bounds(min=0.5).violation(float("nan")) == "not a number"
    assert Bounds().violation(float("nan")) == "not a number"


def test_pointing_the_data_elsewhere_keeps_the_file_as_written(tmp_path: Path) -> None:
    """`data-source` changes the two values only: comments and every other line stay."""
    shipped = PARAMS_FILE.read_text()
    path = tmp_path / "params.yaml"
    path.write_text(shipped)

    params = point_data_at(path, "datasets/churn.csv", "churned")

    assert (params.data.source, params.data.target) == ("datasets/churn.csv", "churned")
    changed = [
        (old, new)
        for old, new in zip(shipped.splitlines(), path.read_text().splitlines(), strict=True)
        if old != new
    ]
    assert [new.strip() for _, new in changed] == [
        'source: "datasets/churn.csv"',
        'target: "churned"',
    ]


def test_a_params_file_without_a_data_block_is_left_alone(tmp_path: Path) -> None:
    """Nothing is written when the keys are not where they belong."""
    path = tmp_path / "params.yaml"
    path.write_text("task: classification\n")

    with pytest.raises(PipelineError, match=r"no line for data\.source, data\.target to set"):
        point_data_at(path, "datasets/churn.csv", "churned")

    assert path.read_text() == "task: classification\n"


def billion_laughs(levels: int) -> str:
    """A params file whose anchors nest `levels` deep, ten aliases a level: 10**levels values in 2 KB."""
    lines = ['a0: ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        lines[-1] = lines[-1].replace(f"a{level - 1}:", f"a{level - 1}: &a{level - 1}", 1)
        aliases = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: [{aliases}]")
    return "\n".join(lines) + "\n"


def test_aliases_that_expand_past_a_bound_are_refused(tmp_path: Path) -> None:
    """A "billion laughs" params file is refused by name before anything walks its expansion."""
    bomb = tmp_path / "params.yaml"
    bomb.write_text(billion_laughs(9))
    with pytest.raises(
        PipelineError, match=r"params\.yaml: its aliases .* expand to more than"
    ) as error:
        load_params(bomb)
    assert len(str(error.value)) < 300, "the message does not repeat the input"


def test_a_large_invalid_value_is_quoted_only_in_part(tmp_path: Path) -> None:
    """An error names the key and an excerpt of a huge value, never the whole of it."""
    text = PARAMS_FILE.read_text().replace("seed: ", "seed_was: ", 1)
    path = tmp_path / "params.yaml"
    path.write_text(text + billion_laughs(2).replace("a2:", "seed:"))
    with pytest.raises(PipelineError, match=r"seed=\[\[") as error:
        load_params(path)
    assert len(str(error.value)) < 2_000, f"{len(str(error.value))} characters"


def test_a_key_given_twice_is_refused_by_name(tmp_path: Path) -> None:
    """A second `gate:` block is an error naming the key and both lines (DVC refuses it too)."""
    path = tmp_path / "params.yaml"
    text = PARAMS_FILE.read_text()
    path.write_text(text + "gate:\n  tolerance: 0.5\n")
    with pytest.raises(
        PipelineError, match=r"key 'gate' is given twice \(lines \d+ and \d+\): keep one$"
    ) as error:
        load_params(path)
    assert "unicode string" not in str(error.value), "no PyYAML context quoting the input"


def test_a_long_file_without_aliases_is_not_called_an_alias_bomb(tmp_path: Path) -> None:
    """Thousands of values written out are a long file, not aliases: they load (then the keys are judged)."""
    path = tmp_path / "params.yaml"
    extra = "".join(f"  k{number}: {number}\n" for number in range(6_000))
    path.write_text(PARAMS_FILE.read_text() + "extra:\n" + extra)
    with pytest.raises(PipelineError) as error:
        load_params(path)
    assert "aliases" not in str(error.value)
    assert "extra" in str(error.value), "the unknown key is named"


def test_merge_keys_and_modest_aliases_still_load(tmp_path: Path) -> None:
    """Anchors used the ordinary way (a bound shared, a block merged in) load as before."""
    raw = shipped()
    gate = raw.pop("gate")
    first, second = list(TASK_METRICS[raw["task"]])[:2]
    path = tmp_path / "params.yaml"
    path.write_text(
        yaml.safe_dump(raw)
        + f"gate:\n  tolerance: {gate['tolerance']}\n  limits:\n"
        + f"    {first}: &bound\n      min: 0.1\n    {second}:\n      <<: *bound\n      max: 100.0\n"
    )
    limits = load_params(path).gate.limits
    assert (limits[first].min, limits[second].min, limits[second].max) == (0.1, 0.1, 100.0)
