"""`Folded`: a hostile str for tests, as applications write case-insensitive ID types."""

from __future__ import annotations


class Folded(str):
    """A case-insensitive string: equal to (and hashed as) any string of the same lower-case text, and its own
    str()."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.lower() == other.lower()

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.lower())

    def __str__(self) -> str:
        return self
