"""Tests for a loaded model's input checks: columns, types, missing values and the data contract."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from {{ cookiecutter.package_name }}.model.loaded import InputError, LoadedModel

from .conftest import rows


def test_predicts_one_value_per_row(loaded_model: LoadedModel) -> None:
    """Predictions are plain Python values, one per row, equal to the native model's."""
    frame = rows(loaded_model)
    predictions = loaded_model.predict(frame)
    assert predictions == loaded_model.native.predict(frame).tolist()


def test_columns_are_reordered_and_coerced(loaded_model: LoadedModel) -> None:
    """Columns in another order, and numbers sent as strings, are accepted."""
    frame = rows(loaded_model)
    shuffled = frame[list(reversed(frame.columns))].astype(str)
    assert loaded_model.predict(shuffled) == loaded_model.predict(frame)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda f: f.drop(columns=["petal_width"]), "petal_width", "missing columns: petal_width"),
        (lambda f: f.assign(colour="red"), "colour", "unknown columns: colour"),
        (lambda f: f.assign(petal_width="wide"), "petal_width", "'petal_width' expects float64"),
        (lambda f: f.iloc[0:0], None, "the batch has no rows"),
    ],
)
def test_bad_rows_name_the_field(
    loaded_model: LoadedModel, change: object, field: str | None, message: str
) -> None:
    """Missing, unknown and mistyped columns, and empty batches, are InputErrors naming the field."""
    with pytest.raises(InputError, match=message) as caught:
        loaded_model.predict(change(rows(loaded_model)))  # type: ignore[operator]
    assert caught.value.field == field


def test_infinities_are_always_refused(loaded_model: LoadedModel) -> None:
    """An infinite value is refused, naming its column and row, even where missing values are fine."""
    frame = rows(loaded_model).copy()
    frame.iloc[3, 0] = float("inf")
    lenient = replace(loaded_model, nullable=frozenset(loaded_model.columns))
    with pytest.raises(InputError, match=r"row 4: infinite values are refused") as caught:
        lenient.predict(frame)
    assert caught.value.field == frame.columns[0]


def test_missing_values_only_where_training_had_them(loaded_model: LoadedModel) -> None:
    """NaN is refused in a column that had none in training, and scored where it had some."""
    frame = rows(loaded_model).copy()
    column = str(frame.columns[1])
    frame.iloc[0, 1] = float("nan")
    with pytest.raises(InputError, match=rf"column '{column}', row 1: a missing value"):
        loaded_model.predict(frame)
    lenient = replace(loaded_model, nullable=frozenset({column}))
    assert len(lenient.predict(frame)) == len(frame)


def test_a_long_list_of_bad_columns_is_cut_short(loaded_model: LoadedModel) -> None:
    """Hundreds of unknown columns give a short error that counts them, not the whole list back."""
    extra = pd.DataFrame({f"extra_{i}": [1.0] * len(rows(loaded_model)) for i in range(300)})
    frame = pd.concat([rows(loaded_model).reset_index(drop=True), extra], axis=1)
    with pytest.raises(InputError, match=r"unknown columns: extra_0, .*\(300 in all\)") as caught:
        loaded_model.predict(frame)
    assert len(str(caught.value)) < 200


def test_rows_that_break_the_data_contract_name_the_column(loaded_model: LoadedModel) -> None:
    """A number outside its contract range is refused by column and row; inside it is scored."""
    frame = rows(loaded_model).copy()
    column = str(frame.columns[2])
    contracted = replace(loaded_model, rules={column: {"min": 0.0, "max": 5.0}})
    assert len(contracted.predict(frame.clip(upper=5.0))) == len(frame)
    rounded = frame.clip(upper=5.0).map(
        lambda value: value * (1 + 1e-12)
    )  # a bound sent through JSON
    assert len(contracted.predict(rounded)) == len(frame)
    frame.iloc[1, 2] = 9.5
    with pytest.raises(
        InputError, match=rf"column '{column}', row 2: 9.5 breaks the data contract"
    ):
        contracted.predict(frame)


def test_an_unknown_category_breaks_the_contract() -> None:
    """Text columns accept only their contract's categories; a missing one only where training had some."""
    native = make_pipeline(
        make_column_transformer((OrdinalEncoder(), ["plan"]), remainder="passthrough"),
        HistGradientBoostingClassifier(max_iter=5),
    ).fit(pd.DataFrame({"plan": ["a", "b"] * 20, "x": range(40)}), [0, 1] * 20)
    model = LoadedModel(
        "m", "1", None, native, {"plan": "object", "x": "int64"}, None,
        rules={"plan": {"categories": ["a", "b"]}},
    )  # fmt: skip
    assert model.predict(pd.DataFrame({"plan": ["b"], "x": [3]})) == [1]
    with pytest.raises(InputError, match=r"column 'plan', row 1: 'gold' breaks .*one of a, b"):
        model.predict(pd.DataFrame({"plan": ["gold"], "x": [3]}))
    with pytest.raises(InputError, match=r"column 'plan', row 1: a missing value"):
        model.predict(pd.DataFrame({"plan": [None], "x": [3]}))
