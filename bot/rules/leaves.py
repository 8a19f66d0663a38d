"""PURE: a config's activity conditions decided from one pass over a contact's activities.

Whether an activity condition holds depends on two figures per leaf (an `activity:` with its kind, window
and label pattern): how many matching activities there are (summing Activity.count) and the newest one
(what decay ages the points by). One pass over a contact's activities sums every leaf of the config at
once; which rules hold then depends only on those counts (see Leaves.shape). This is how the scorer
decides every condition made of activities alone, for the live worker and the backtest alike;
compiled.py's tests give the evidence (which activities, in words for a rep) only for the rules that
fired, and only when someone will read it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from operator import ge
from typing import Callable, NamedTuple, Sequence

from bot.models import Activity, ActivityColumns, make_tuple
from bot.rules.compiled import Memo, glob_matcher
from bot.rules.conditions import ActivityCondition, AllCondition, AnyCondition, Condition



class Leaf(NamedTuple):
    """What picks a leaf's activities: their kind, how recent, and the label pattern (form, url, campaign)."""
    kind: str
    within: timedelta | None
    glob: str | None


class Summary(NamedTuple):
    """One contact's activities summed per leaf."""
    counts: list[int]                    # per leaf: matching activities, summing Activity.count
    newest: list[datetime | None]        # per leaf: the newest matching activity's time (None: none match)
    last: datetime | None                # the newest activity of all, matching or not


# A condition decided from a Shape (see Leaves.shape): the leaves whose newest activity dates what made it
# hold (decay ages the points by the newest of them), or None when it does not hold.
Decided = Callable[[tuple[bool, ...]], "tuple[int, ...] | None"]


def decided_by_leaves(condition: Condition) -> bool:
    """Whether the condition is made of activities alone (any/all of them): then its leaves decide it."""
    if isinstance(condition, ActivityCondition):
        return True
    return isinstance(condition, (AllCondition, AnyCondition)) and all(map(decided_by_leaves, condition.conditions))


class Leaves:
    """Every leaf of a config's activity conditions, numbered, and the pass that sums them for a contact."""

    def __init__(self, conditions: Sequence[Condition]):
        """`conditions`: those decided_by_leaves; compile() is then called for each of them."""
        self._numbers: dict[Leaf, int] = {}
        self._asked: dict[tuple[int, int], int] = {}     # (leaf, at_least) -> its place in a shape
        for condition in conditions:
            self._number_leaves(condition)
        leaves = list(self._numbers)
        # A shape is, for each (leaf, at_least) asked, whether the leaf's count reaches it: one C call, map(ge).
        asked_leaves, self._least = tuple(leaf for leaf, _ in self._asked), tuple(least for _, least in self._asked)
        self._counts_asked = (None if asked_leaves == tuple(range(len(leaves))) else
                              lambda counts: tuple(counts[leaf] for leaf in asked_leaves))
        self._windows = tuple(leaf.within for leaf in leaves)
        self._cutoffs: tuple[datetime | None, tuple[datetime, ...]] = (None, ())
        # kind -> the numbers of its leaves; a Memo by label where a leaf of that kind has a label pattern
        self._by_kind: dict[str, tuple[int, ...] | Memo] = {}
        for kind in {leaf.kind for leaf in leaves}:
            mine = [(number, leaf) for number, leaf in enumerate(leaves) if leaf.kind == kind]
            if all(leaf.glob is None for _, leaf in mine):
                self._by_kind[kind] = tuple(number for number, _ in mine)
            else:
                self._by_kind[kind] = _by_label(mine)
        # (kind, label) -> the numbers of the leaves such an activity counts for: looked up in C, a whole
        # contact's activities in one map() (kinds, labels and pages repeat from contact to contact).
        self._leaves_of = Memo(self._judge_leaves)

    def _number_leaves(self, condition: Condition) -> None:
        if isinstance(condition, ActivityCondition):
            number = self._numbers.setdefault(_leaf(condition), len(self._numbers))
            self._asked.setdefault((number, condition.at_least or 1), len(self._asked))
        else:
            for child in condition.conditions:
                self._number_leaves(child)

    def summary(self, activities: Sequence[Activity], now: datetime) -> Summary:
        """The one pass: per leaf, the matching activities' count and the newest of them. It reads the
        activities a field at a time (the backtest's come that way; others are put that way first)."""
        size, cutoffs = len(self._windows), self._cutoffs_at(now)
        columns = activities if activities.__class__ is ActivityColumns else ActivityColumns.of(activities)
        moments = columns.moments
        # max(moments, default=None) would cost more: a keyword argument takes max() off its fast path.
        counts, newest, last = [0] * size, [None] * size, max(moments) if moments else None
        leaves_of = map(self._leaves_of.__getitem__, zip(columns.kinds, columns.labels))
        for numbers, when, count in zip(leaves_of, moments, columns.counts):
            for number in numbers:
                if when >= cutoffs[number]:
                    counts[number] += count
                    seen = newest[number]
                    if seen is None or when > seen:
                        newest[number] = when
        return make_tuple(Summary, (counts, newest, last))

    def _judge_leaves(self, kind_and_label: tuple[str, str]) -> tuple[int, ...]:
        kind, label = kind_and_label
        numbers = self._by_kind.get(kind, ())
        return numbers if numbers.__class__ is tuple else numbers[label]

    def _cutoffs_at(self, now: datetime) -> tuple[datetime, ...]:
        """Each leaf's earliest time counted as of `now` (kept for the last `now` asked: a run has one)."""
        at, cutoffs = self._cutoffs
        if at is not now and at != now:
            earliest = datetime.min.replace(tzinfo=now.tzinfo)      # the cutoff of a leaf without `within`
            cutoffs = tuple(earliest if within is None else now - within for within in self._windows)
            self._cutoffs = (now, cutoffs)
        return cutoffs

    def shape(self, summary: Summary) -> tuple[bool, ...]:
        """For each at_least asked of each leaf (1 when not written), whether its count reaches it: all that
        decides which conditions hold. Contacts share shapes, so what a shape decides is worked out once and
        remembered."""
        counts = summary.counts if self._counts_asked is None else self._counts_asked(summary.counts)
        return tuple(map(ge, counts, self._least))

    def compile(self, condition: Condition) -> Decided:
        """The condition as decided from a shape, with compiled.py's meaning: an `any` holds by its first
        child that holds, an `all` by all of them (dated by the newest activity of all their leaves)."""
        if isinstance(condition, ActivityCondition):
            number = self._numbers[_leaf(condition)]
            return _one_leaf(number, self._asked[(number, condition.at_least or 1)])
        children = tuple(map(self.compile, condition.conditions))
        return _all_of(children) if isinstance(condition, AllCondition) else _any_of(children)


def _leaf(condition: ActivityCondition) -> Leaf:
    return Leaf(condition.kind, condition.within, condition.glob)


def _by_label(leaves: list[tuple[int, Leaf]]) -> Memo:
    """label -> the numbers of the kind's leaves it matches (those without a pattern match every label)."""
    globs = [(number, glob_matcher(leaf.glob) if leaf.glob is not None else None) for number, leaf in leaves]
    return Memo(lambda label: tuple(number for number, glob in globs if glob is None or glob(label)))


def _one_leaf(number: int, place: int) -> Decided:
    """Holds when the leaf's count reaches what it asks (the shape's `place`); dated by the leaf."""
    dating = (number,)
    return lambda shape: dating if shape[place] else None


def _all_of(children: tuple[Decided, ...]) -> Decided:
    def decided(shape: tuple[bool, ...]) -> tuple[int, ...] | None:
        dating: tuple[int, ...] = ()
        for child in children:
            found = child(shape)
            if found is None:
                return None
            dating += found
        return dating
    return decided


def _any_of(children: tuple[Decided, ...]) -> Decided:
    def decided(shape: tuple[bool, ...]) -> tuple[int, ...] | None:
        for child in children:
            found = child(shape)
            if found is not None:
                return found
        return None
    return decided


def newest_of(summary: Summary, dating: tuple[int, ...]) -> datetime:
    """The newest activity among the dating leaves (each holds at least one: their condition held)."""
    newest = summary.newest
    return newest[dating[0]] if len(dating) == 1 else max(newest[number] for number in dating)
