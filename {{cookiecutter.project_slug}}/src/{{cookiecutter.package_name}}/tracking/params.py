"""Params as MLflow stores them: nested settings flattened to dotted keys, and the call arguments worth logging."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

PARAM_VALUE_LIMIT = 6000  # MLflow's limit on a param value's length


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mappings and pydantic models become dotted keys; values become strings."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, f"{name}."))
        else:
            flat[name] = str(value)[:PARAM_VALUE_LIMIT]
    return flat


def loggable_arguments(function: Callable[..., Any], args: Any, kwargs: Any) -> dict[str, Any]:
    """The bound call arguments (defaults included) that make meaningful params."""
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    simple = (str, int, float, bool, type(None), BaseModel, Mapping)
    return {name: value for name, value in bound.arguments.items() if isinstance(value, simple)}
