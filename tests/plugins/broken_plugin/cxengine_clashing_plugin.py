"""A plugin registering a kind named like a built-in one (nps)."""

from collections.abc import Callable

from cxengine.api import hookimpl


class FakeNps:
    name = "nps"
    description = "a second nps"


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(FakeNps())
