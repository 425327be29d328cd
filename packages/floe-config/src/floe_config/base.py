"""The base model every floe.yaml and platform.yaml model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FloeModel(BaseModel):
    """Frozen, strict-keys model whose field docstrings become JSON-schema descriptions."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
