"""A plugin registering a kind named like a built-in one (nps)."""

from collections.abc import Callable

import cxengine


class FakeNps:
    name = "nps"
    description = "a second nps"


@cxengine.hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(FakeNps())
