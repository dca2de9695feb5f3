"""Tests for input checking and batch prediction."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from {{ cookiecutter.package_name }}.model.batch import predict_file
from {{ cookiecutter.package_name }}.model.export import export_model, load_exported
from {{ cookiecutter.package_name }}.model.load import ModelNotFoundError, load_model, resolve_version
from {{ cookiecutter.package_name }}.model.loaded import InputError, LoadedModel
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.store import connect


def rows(model: LoadedModel) -> pd.DataFrame:
    """The model's input example rows."""
    assert model.input_example is not None
    return model.input_example


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


def test_predict_file_streams_in_chunks(loaded_model: LoadedModel, tmp_path: Path) -> None:
    """A file is scored chunk by chunk into one CSV with a header and every row in order."""
    source = tmp_path / "rows.csv"
    frame = pd.concat([rows(loaded_model)] * 7, ignore_index=True)
    frame.to_csv(source, index=False)
    count = predict_file(loaded_model, source, tmp_path / "out" / "preds.csv", rows_per_chunk=4)
    written = pd.read_csv(tmp_path / "out" / "preds.csv")
    assert count == len(frame) == len(written)
    assert written["prediction"].tolist() == loaded_model.predict(frame)


def test_predict_file_errors_name_the_rows(loaded_model: LoadedModel, tmp_path: Path) -> None:
    """A bad value deep in a file is reported with its row range and column."""
    frame = pd.concat([rows(loaded_model)] * 3, ignore_index=True)
    frame["sepal_length"] = frame["sepal_length"].astype(object)
    frame.loc[11, "sepal_length"] = "abc"
    frame.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(InputError, match=r"rows 9-12: column 'sepal_length'"):
        predict_file(loaded_model, tmp_path / "rows.csv", tmp_path / "preds.csv", rows_per_chunk=4)
    with pytest.raises(InputError, match="input file not found"):
        predict_file(loaded_model, tmp_path / "nope.csv", tmp_path / "preds.csv")


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


def test_an_exported_model_serves_without_the_registry(
    trained_project: Settings, tmp_path: Path
) -> None:
    """export_model copies a version with its signature and serving example; load_exported needs no store."""
    from {{ cookiecutter.package_name }}.serving.routing import Router

    version = resolve_version(trained_project, None, "1")
    client = connect(trained_project)
    client.set_registered_model_alias(trained_project.model_name, "exported", version)
    folder = tmp_path / "image" / "model"
    record = export_model(trained_project, folder, alias="exported")
    assert record == {"name": trained_project.model_name, "version": version, "alias": "exported"}
    assert (folder / "MLmodel").is_file()
    exported = load_exported(folder)
    assert exported.serving_example is not None
    registered = load_model(trained_project, alias=None, version=version)
    test = pd.read_csv(trained_project.data_dir / "prepared" / "test.csv").drop(columns=["target"])
    assert exported.predict(test) == registered.predict(test)

    elsewhere = trained_project.model_copy(
        update={"serve_model_dir": folder, "tracking_uri": "http://127.0.0.1:9"}  # no store there
    )
    router = Router.start(elsewhere)
    assert (router.routes.champion.version, router.routes.pick(None)[1]) == (version, "exported")


def test_a_folder_without_an_exported_model_is_named(tmp_path: Path) -> None:
    """SERVE_MODEL_DIR pointing at anything else fails in one line naming the folder and the fix."""
    with pytest.raises(ModelNotFoundError, match="holds no exported model"):
        load_exported(tmp_path)
