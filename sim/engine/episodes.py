"""A batch of episodes: one structured numpy array, one record per episode."""

from __future__ import annotations

import numpy as np

VISIT, BED = 0, 1  # what an episode waits for at its facility

FIELDS = {
    "person": np.int64,      # resident agent index
    "severity": np.int8,     # 0 minor .. 3 critical
    "inpatient": np.bool_,   # needs a bed
    "chronic": np.bool_,     # a chronic follow-up (not an acute episode)
    "facility": np.int32,    # where the episode is now (-1 before choosing)
    "first_tier": np.int8,   # tier of first contact (-1 before the first visit)
    "referred": np.bool_,    # arrived by referral
    "waited": np.int16,      # days waited so far
    "stage": np.int8,        # VISIT or BED
    "contact": np.uint8,     # what settling a contact involves (bit flags, see `Contact`)
}
RECORD = np.dtype(list(FIELDS.items()), align=True)

CHRONIC = 4           # outcome index of chronic follow-ups in the ledger
# Chronic patients weigh doctor quality like a moderate illness: technology and
# specialists matter for chronic care (BMJ Open MNL: "no first-class technology" OR 29.7).
CHRONIC_CHOICE_SEVERITY = 1
LOS_BY_SEVERITY = np.array([0.7, 1.0, 1.25, 1.6])  # length of stay relative to the tier's, by severity


class Contact:
    """Bit flags of a contact to settle: how it is billed and what the patient learns."""

    INPATIENT = 1    # billed as an admission (otherwise as an outpatient visit)
    WAIVED = 2       # deductible waived (a downward referral continues a stay)
    LEARN = 4        # the patient updates trust from it
    REFERRED_ON = 8  # ...and was sent on to a higher tier (disappointing)


def add_counts(target: np.ndarray, index: np.ndarray, weights: np.ndarray | None = None) -> None:
    """target[index] += weights (or 1), with repeated indexes adding up (a fast np.add.at)."""
    if len(index):
        target += np.bincount(index, weights=weights, minlength=len(target)).astype(target.dtype)


def join_records(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate structured arrays of one dtype (as opaque bytes: several times faster than
    np.concatenate, which compares structured dtypes field by field)."""
    dtype = arrays[0].dtype
    raw = _RAW.get(dtype) or _RAW.setdefault(dtype, np.dtype((np.void, dtype.itemsize)))
    return np.concatenate([a.view(raw) for a in arrays]).view(dtype)


_RAW: dict[np.dtype, np.dtype] = {}  # each record dtype's opaque twin


class Batch:
    """Episodes as records; fields read as arrays (`batch.person`), `take` selects rows and
    `concat` joins batches, each in one numpy call whatever the number of fields."""

    __slots__ = ("data",)

    def __init__(self, data: np.ndarray):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def take(self, index: np.ndarray) -> "Batch":
        """Rows selected by a boolean mask or an index array."""
        return Batch(self.data[index])

    def replace(self, **arrays: np.ndarray | int | bool) -> "Batch":
        """A copy with some fields replaced (by arrays, or one value for every row)."""
        data = self.data.copy()
        for k, v in arrays.items():
            data[k] = v
        return Batch(data)

    @staticmethod
    def empty() -> "Batch":
        """A batch with no episodes."""
        return Batch(np.zeros(0, RECORD))

    @staticmethod
    def new(person: np.ndarray, severity: np.ndarray | int, inpatient: np.ndarray | bool,
            chronic: np.ndarray | bool) -> "Batch":
        """Fresh episodes that have not chosen a facility yet (a single value applies to all)."""
        data = np.zeros(len(person), RECORD)
        data["person"], data["severity"], data["inpatient"], data["chronic"] = person, severity, inpatient, chronic
        data["facility"] = data["first_tier"] = -1
        return Batch(data)

    @staticmethod
    def concat(batches: list["Batch"]) -> "Batch":
        """Join batches row-wise."""
        batches = [b for b in batches if len(b)]
        if not batches:
            return Batch.empty()
        if len(batches) == 1:
            return batches[0]
        return Batch(join_records([b.data for b in batches]))


def _field(name: str) -> property:
    return property(lambda self: self.data[name], doc=f"The {name} of each episode (a view).")


for _name in FIELDS:  # batch.person, batch.severity, ...
    setattr(Batch, _name, _field(_name))


def rank_within(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Position of each row within its group when rows are ordered by key (0 = first)."""
    order = np.lexsort((key, group))
    sorted_group = group[order]
    starts = np.searchsorted(sorted_group, sorted_group, side="left")
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - starts
    return rank


def unique_rounds(person: np.ndarray, scratch: np.ndarray | None = None) -> list[np.ndarray]:
    """Split row indexes into rounds in which no person appears twice (exact per-person caps).

    With `scratch` (an int array as long as the population) this runs in linear time.
    """
    if len(person) == 0:
        return []
    if scratch is not None:
        rows = np.arange(len(person))
        rounds = []
        while len(rows):
            scratch[person[rows]] = rows
            first = scratch[person[rows]] == rows
            rounds.append(rows[first])
            rows = rows[~first]
        return rounds
    occurrence = rank_within(person, np.arange(len(person)))
    top = int(occurrence.max())
    if top == 0:
        return [np.arange(len(person))]
    return [np.flatnonzero(occurrence == r) for r in range(top + 1)]
