"""`decay:` how engagement points fade with the age of the activity that earned them."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Union

from pydantic import Discriminator, PlainValidator, Tag, model_validator

from bot.rules.durations import WallDuration
from bot.rules.validation import TAG_MARK, Strict, parse_share

NO_DECAY = "none"   # written on a rule to keep its points whole when the file decays the rest
DECAY_HINT = "{half_life: 14d}, {linear: 10%, per: 7d} or none"


def _linear_share(value: Any) -> float:
    share = parse_share(value)
    if share is None:
        raise ValueError(f"expected the share of the points lost per period, like 10% (got {value!r})")
    if not 0 < share <= 1:
        raise ValueError(f"must be more than 0% and at most 100% (got {value!r})")
    return share


class Decay(Strict):
    """Points × ½ per `half_life` of age, or points minus the `linear` share per `per` (never below 0)."""
    half_life: WallDuration | None = None
    linear: Annotated[float, PlainValidator(_linear_share)] | None = None
    per: WallDuration | None = None

    @model_validator(mode="after")
    def _one_way(self) -> "Decay":
        linear = self.linear is not None or self.per is not None
        if self.half_life is not None and linear:
            raise ValueError("write half_life, or linear with per, not both")
        if not linear and self.half_life is None:
            raise ValueError(f"say how points fade: {DECAY_HINT}")
        if linear and None in (self.linear, self.per):
            raise ValueError("linear and per go together: the share lost, and the period it is lost over "
                             "(like {linear: 10%, per: 7d})")
        return self

    def factor(self, age: timedelta) -> float:
        """The share of the points left after `age` (1 at age 0)."""
        if self.half_life is not None:
            return 0.5 ** (age / self.half_life)
        return max(0.0, 1 - self.linear * (age / self.per))


def _no_decay(value: Any) -> str:
    # YAML reads a bare `off` or `no` as false: both mean "no decay" here.
    if value is False or (isinstance(value, str) and value.strip().lower() == NO_DECAY):
        return NO_DECAY
    raise ValueError(f"expected {DECAY_HINT} (got {value!r})")


def _decay_kind(value: Any) -> str:
    return TAG_MARK + ("decay" if isinstance(value, (dict, Decay)) else "none")


DecaySetting = Annotated[
    Union[Annotated[Decay, Tag(TAG_MARK + "decay")],
          Annotated[str, PlainValidator(_no_decay), Tag(TAG_MARK + "none")]],
    Discriminator(_decay_kind),
]
