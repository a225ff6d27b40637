"""One model call, as a render generator hands it to whoever runs model calls.

The model yields Jobs instead of running them, so the synth layer's scheduler decides when
each call runs (earliest deadline first) without the model knowing about it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    """One model call, yielded by a render generator and run by the scheduler."""

    fn: Callable[..., Any]
    args: tuple = ()

    def __call__(self) -> Any:
        return self.fn(*self.args)
