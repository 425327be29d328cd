"""The base model every floe.yaml and platform.yaml model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FloeModel(BaseModel):
    """Frozen model that rejects unknown keys.

    Field docstrings become JSON-schema descriptions in ``json_schema.py``, not through pydantic's
    ``use_attribute_docstrings``: that reads and tokenizes every model's source at import, which tripled the import
    time of ``floe-config validate``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
