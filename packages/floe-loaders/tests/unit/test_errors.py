from __future__ import annotations

import pickle

from floe_loaders import FloeLoaderError
from floe_loaders.errors import SelectionError
from floe_loaders.locations import LoaderWarning, default_locate, make_warning


def test_message_is_location_path_what_and_fix() -> None:
    error = SelectionError(
        "orchestration.jobs.transform.selection",
        "selection 'group:' matches no asset.",
        "Check the group name",
        locate=lambda path: "floe.yaml:14:16",
    )
    assert str(error) == (
        "floe.yaml:14:16: orchestration.jobs.transform.selection: selection 'group:' matches no asset. "
        "Check the group name"
    )
    assert isinstance(error, FloeLoaderError)
    assert error.location == "floe.yaml:14:16"


def test_default_locate_names_the_file() -> None:
    assert default_locate("orchestration.jobs.x") == "floe.yaml"
    assert str(SelectionError("orchestration.jobs.x", "bad", "Fix it")).startswith(
        "floe.yaml: orchestration.jobs.x: bad."
    )


def test_errors_survive_pickling() -> None:
    error = SelectionError("a.b", "bad", "Fix it")
    clone = pickle.loads(pickle.dumps(error))
    assert str(clone) == str(error)
    assert clone.path == "a.b"


def test_warning_renders_like_a_config_issue() -> None:
    warning = make_warning("orchestration.assets.x/*", "matches nothing", lambda path: "floe.yaml:3:3")
    assert warning == LoaderWarning(
        path="orchestration.assets.x/*", message="matches nothing", location="floe.yaml:3:3"
    )
    assert str(warning) == "floe.yaml:3:3: orchestration.assets.x/*: matches nothing"
