"""Batch predictions for a CSV file, streamed in chunks."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..files import atomic_writer
from .loaded import InputError, LoadedModel


def read_batches(path: Path, rows_per_chunk: int) -> Iterable[pd.DataFrame]:
    """Read a CSV in chunks, so files larger than memory stream through."""
    if not path.is_file():
        raise InputError(f"{path}: input file not found")
    try:
        yield from pd.read_csv(path, chunksize=rows_per_chunk)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None


def predict_file(
    model: LoadedModel, source: Path, target: Path, rows_per_chunk: int = 50_000
) -> int:
    """Write one `prediction` per input row to a CSV, chunk by chunk; return the row count.

    The file appears at `target` only once every chunk is written: a failure leaves nothing there.
    """
    rows = 0
    with atomic_writer(target, newline="") as output:
        for chunk in read_batches(source, rows_per_chunk):
            try:
                predictions = model.predict(chunk)
            except InputError as error:
                raise InputError(
                    f"{source}, rows {rows + 1}-{rows + len(chunk)}: {error}", error.field
                ) from None
            pd.DataFrame({"prediction": predictions}).to_csv(output, index=False, header=rows == 0)
            rows += len(chunk)
    return rows
