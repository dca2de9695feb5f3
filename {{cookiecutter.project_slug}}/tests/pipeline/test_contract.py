"""Tests for the data contract: written from the data, enforced with a table of what broke it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.contract import (
    ContractError,
    contract_path,
    enforce,
    serving_rules,
    write_contract,
)

EXAMPLE = Path(__file__).parents[1] / "data" / "{{ 'churn' if cookiecutter.task == 'classification' else 'spend' }}.csv"


@pytest.fixture
def customers() -> pd.DataFrame:
    """Numbers, text categories and missing values in both."""
    return pd.DataFrame(
        {
            "plan": ["basic", "pro", "team", "pro"],
            "region": ["north", None, "east", "west"],
            "tenure": [1, 12, 72, 30],
            "charges": [20.5, np.nan, 99.0, 60.0],
        }
    )


def test_the_contract_is_written_beside_the_data_and_holds_for_it(
    customers: pd.DataFrame, tmp_path: Path
) -> None:
    """Types, missing values, ranges and categories come from the data, which then passes."""
    contract = write_contract(customers, contract_path(tmp_path / "customers.csv"))

    assert contract == tmp_path / "customers.schema.yaml"
    text = contract.read_text()
    assert text.startswith("# The data contract")
    assert "isin" in text
    assert "in_range" in text
    validated = enforce(customers, contract, "customers.csv")
    assert list(validated.columns) == list(customers.columns)


def test_broken_rows_are_a_table_with_lines_and_values(
    customers: pd.DataFrame, tmp_path: Path
) -> None:
    """Each broken rule is one line: the column, the rule, how many rows, and the offending lines."""
    contract = write_contract(customers, tmp_path / "customers.schema.yaml")
    broken = customers.copy()
    broken.loc[1, "plan"] = "gold"  # an unknown category
    broken.loc[2, "tenure"] = -3  # out of range
    broken.loc[3, "plan"] = None  # missing where the data had none

    with pytest.raises(ContractError) as caught:
        enforce(broken, contract, "customers.csv", "datasets/customers.schema.yaml")

    message = str(caught.value)
    assert message.startswith("customers.csv breaks its contract datasets/customers.schema.yaml")
    lines = message.splitlines()
    assert any("plan" in line and "isin" in line and "3: 'gold'" in line for line in lines), message
    assert any(
        "tenure" in line and "in_range" in line and "4: -3" in line for line in lines
    ), message
    assert any("plan" in line and "missing value" in line for line in lines), message
    assert "make data-schema" in message
    assert "Traceback" not in message


def test_a_new_column_breaks_the_contract(customers: pd.DataFrame, tmp_path: Path) -> None:
    """Columns the contract does not know are refused by name."""
    contract = write_contract(customers, tmp_path / "customers.schema.yaml")

    with pytest.raises(ContractError, match="unexpected column"):
        enforce(customers.assign(extra=1), contract, "customers.parquet")


def test_an_unreadable_contract_names_its_file(tmp_path: Path) -> None:
    """A contract edited into nonsense stops with the file named and the way out."""
    contract = tmp_path / "customers.schema.yaml"
    contract.write_text("columns: [unclosed\n")

    with pytest.raises(
        PipelineError, match=r"customers\.schema\.yaml: not a readable data contract"
    ):
        enforce(pd.DataFrame({"x": [1]}), contract, "customers.csv")


def test_the_model_carries_the_feature_rules(customers: pd.DataFrame, tmp_path: Path) -> None:
    """Serving gets each feature's range or categories, not the target's."""
    contract = write_contract(customers, tmp_path / "customers.schema.yaml")

    rules = serving_rules(contract, ["plan", "tenure"])

    assert rules == {
        "plan": {"categories": ["basic", "pro", "team"]},
        "tenure": {"min": 1, "max": 72},
    }


def test_the_shipped_example_data_keeps_its_contract_and_its_second_version_breaks_it(
    tmp_path: Path,
) -> None:
    """The example file of docs/own-data.md passes its own contract; the second version has one bad line."""
    frame = pd.read_csv(EXAMPLE)
    contract = write_contract(frame, tmp_path / "example.schema.yaml")
    enforce(frame, contract, EXAMPLE.name)

    second = EXAMPLE.with_name(EXAMPLE.stem + "-v2.csv")
    with pytest.raises(ContractError) as caught:
        enforce(pd.read_csv(second), contract, second.name)
    assert f"{len(frame) + 2}: 'gold'" in str(caught.value), "the new last line is named"
