"""The data contract: what each column of a dataset may hold, written once from the data, reviewed, enforced.

The first ingest of a source writes its contract beside it (`datasets/<name>.schema.yaml`, pandera's YAML
format): every column with its type, whether it may be missing, the range of a number and the categories of a
text column. You review it and commit it; every later ingest validates the data against it (pandera, all
problems at once) and stops with a short table of what broke it. `make data-schema` writes it again on purpose.

The trained model carries the rules its feature columns need (`serving_rules`), so the server refuses a request
that breaks the same contract, with a 400 naming the column.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import PipelineError

if TYPE_CHECKING:
    import pandera.pandas as pa

CATEGORY_LIMIT = 50  # a text column with at most this many distinct values gets an allowed list
EXAMPLES = 3  # offending values shown per broken rule
SUFFIX = ".schema.yaml"


class ContractError(PipelineError):
    """The data breaks its contract; the message is a table of the broken rules with example rows."""


def contract_path(dataset: Path) -> Path:
    """Where a dataset's contract lives: beside it, named after it (`churn.csv` -> `churn.schema.yaml`)."""
    return dataset.with_name(dataset.name.split(".")[0] + SUFFIX)


def infer_contract(frame: pd.DataFrame) -> pa.DataFrameSchema:
    """The contract the data as it is satisfies: types, missing values, ranges and categories."""
    import pandera.pandas as pa

    columns: dict[str, pa.Column] = {}
    for name in frame.columns:
        values = frame[name]
        nullable = bool(values.isna().any())
        present = values.dropna()
        if pd.api.types.is_bool_dtype(values):
            columns[str(name)] = pa.Column(bool, nullable=nullable, coerce=True)
        elif pd.api.types.is_numeric_dtype(values):
            kind = int if pd.api.types.is_integer_dtype(values) else float
            checks = [pa.Check.in_range(present.min().item(), present.max().item())]
            columns[str(name)] = pa.Column(
                kind, checks=checks if len(present) else [], nullable=nullable, coerce=True
            )
        else:
            categories = sorted(map(str, present.unique()))
            checks = [pa.Check.isin(categories)] if len(categories) <= CATEGORY_LIMIT else []
            columns[str(name)] = pa.Column(str, checks=checks, nullable=nullable, coerce=True)
    return pa.DataFrameSchema(columns, strict=True, coerce=True)


def write_contract(frame: pd.DataFrame, path: Path) -> Path:
    """Infer the frame's contract and write it to `path` (YAML, with a header saying what to do)."""
    header = (
        "# The data contract of this dataset, written from the data by the ingest stage: review it (types,\n"
        "# nullable, in_range, isin), loosen what the data may legitimately do, and commit it. Every ingest\n"
        "# checks the data against it; `make data-schema` writes it again from the current data.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + str(infer_contract(frame).to_yaml()), encoding="utf-8")
    return path


def read_contract(path: Path) -> pa.DataFrameSchema:
    """Load a contract; a broken file is a PipelineError naming it."""
    import pandera.pandas as pa
    import yaml

    try:
        return pa.DataFrameSchema.from_yaml(path)
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise PipelineError(
            f"{path}: not a readable data contract ({error}); fix it or run `make data-schema`"
        ) from None


def enforce(
    frame: pd.DataFrame, contract: Path, source: str, shown: str | None = None
) -> pd.DataFrame:
    """The frame, coerced to its contract's types; ContractError with every broken rule otherwise.

    `shown` is how the message names the contract (a path relative to the project).
    """
    import pandera.errors

    schema = read_contract(contract)
    try:
        validated: pd.DataFrame = schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        raise ContractError(
            f"{source} breaks its contract {shown or contract}:\n{failure_table(errors.failure_cases, source)}\n"
            "Fix the data; or, if the change is intended, run `make data-schema` and review the new contract."
        ) from None
    return validated


def failure_table(cases: pd.DataFrame, source: str) -> str:
    """One line per broken rule: the column, the rule, how many rows, and a few offending rows."""
    line_offset = 2 if source.endswith(".csv") else 0  # a CSV's line: the header is line 1
    where = "line" if line_offset else "row"
    rows = [("column", "rule", "rows", f"examples ({where}: value)")]
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        examples = []
        for index, value in group[["index", "failure_case"]].head(EXAMPLES).itertuples(index=False):
            at = f"{int(index) + line_offset}: " if pd.notna(index) else ""
            examples.append(f"{at}{value!r}")
        rows.append((str(column), _rule(str(check)), str(len(group)), ", ".join(examples)))
    widths = [min(max(len(row[i]) for row in rows), 40) for i in range(3)]
    return "\n".join(
        "  "
        + "  ".join(cell[:40].ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    )


def _rule(check: str) -> str:
    """The name pandera gives a check, as a person reads it."""
    renamed = {
        "column_in_schema": "unexpected column",
        "column_in_dataframe": "missing column",
        "not_nullable": "missing value",
    }
    return renamed.get(check, check)


def serving_rules(contract: Path, features: list[str]) -> dict[str, dict[str, Any]]:
    """The feature columns' ranges and categories, for the server to enforce the same contract quickly."""
    schema = read_contract(contract)
    rules: dict[str, dict[str, Any]] = {}
    for name in features:
        column = schema.columns.get(name)
        if column is None:
            continue
        rule: dict[str, Any] = {}
        for check in column.checks:
            stats = check.statistics or {}
            if check.name == "in_range":
                rule["min"], rule["max"] = stats["min_value"], stats["max_value"]
            elif check.name == "isin":
                rule["categories"] = sorted(map(str, stats["allowed_values"]))
        if rule:
            rules[name] = rule
    return rules
