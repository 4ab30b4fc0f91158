r"""Core's `str_matches` patterns (Rust: fancy-regex) rewritten for `re` where the two read a text differently:
end anchors (`$`, `\z`, `\Z`), mid-pattern flags, `(?<name>)`, `\k<name>`, `\x{..}`, `\e`, `\h`, POSIX classes,
Rust's `\s`; `(?U)`, `\K`, `\G` do not change a yes/no search. None when core cannot compile the pattern
(Python-only syntax) or `re` cannot say it (`\p{..}`, class set operations): the condition is then false
(README: where we do not copy the official SDKs)."""

from __future__ import annotations

import re

__all__ = ["to_python"]

_SPACE = "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_HEX = "0-9A-Fa-f"
_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~", "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\x0b\\x0c\\r ", "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_RUST_FLAGS = frozenset("imsxuUR-")
_ATOMIC = re.compile(r"\(\?>|[*+?}]\+")


class _NoTranslation(Exception):
    """The pattern has no faithful `re` form (or core does not compile it)."""


def to_python(pattern: str) -> str | None:
    """`pattern` (Rust syntax) for `re`, or None when core cannot compile it or `re` cannot say the same."""
    try:
        return _Translation(pattern).run()
    except _NoTranslation:
        return None


class _Group:
    __slots__ = ("multiline", "scopes")

    def __init__(self, multiline: bool) -> None:
        self.multiline = multiline  # the `m` flag where the group opened (restored when it closes)
        self.scopes: list[str] = []  # flag groups opened in it by a bare `(?flags)`, to close at `)` and `|`


class _Translation:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.out: list[str] = []
        self.multiline = False
        self.groups = [_Group(False)]
        self.leading_flags = 0  # how many of `out`'s first items are known to be bare flag groups
        self.atomic: bool | None = None  # whether the pattern commits to a choice (searched once)

    def run(self) -> str:
        p = self.p
        while self.i < len(p):
            c = p[self.i]
            self.i += 1
            if c == "\\":
                self.out.append(self._escape(in_class=False))
            elif c == "[":
                self.out.append(self._class())
            elif c == "(":
                self._open()
            elif c == ")":
                self._close()
            elif c == "|":
                scopes = self.groups[-1].scopes
                self.out.append(")" * len(scopes) + "|" + "".join(scopes))
            elif c == "$":
                self.out.append("$" if self.multiline else "\\Z")
            else:
                self.out.append(c)
        if len(self.groups) != 1:
            raise _NoTranslation("unbalanced")
        self.out.append(")" * len(self.groups[0].scopes))
        return "".join(self.out)

    # --- groups and flags ---------------------------------------------------------------------------

    def _open(self) -> None:
        p, i = self.p, self.i
        if not p.startswith("?", i):
            self.groups.append(_Group(self.multiline))
            self.out.append("(")
            return
        if p.startswith("?<", i) and not p.startswith(("?<=", "?<!"), i):
            self.i += 2
            self.groups.append(_Group(self.multiline))
            self.out.append("(?P<")
            return
        j = i + 1
        while (j < len(p) and p[j].isalpha()) or (j < len(p) and p[j] == "-"):
            j += 1
        flags = p[i + 1:j]
        if flags and j < len(p) and p[j] in ":)" and flags != "P":
            self.i = j + 1
            self._flags(flags, scoped=p[j] == ":")
            return
        self.groups.append(_Group(self.multiline))
        self.out.append("(")  # (?: (?= (?! (?<= (?<! (?> (?P<..> (?# ...: the same in both

    def _flags(self, flags: str, scoped: bool) -> None:
        if not set(flags) <= _RUST_FLAGS:
            raise _NoTranslation(f"flags {flags}")  # (?a), (?L): Python's own; core cannot compile them
        on, _, off = flags.partition("-")
        if "U" in flags and self.atomic is None:
            self.atomic = _ATOMIC.search(self.p) is not None
        if "R" in flags or "u" in off or ("U" in flags and self.atomic):
            raise _NoTranslation(f"flags {flags}")  # CRLF lines, bytes: no `re` form
        # `U` (swap greed) never changes whether a match exists, only which one (unless atomic groups or
        # possessive repeats commit to a choice): str_matches asks only the first
        on, off = on.replace("u", "").replace("U", ""), off.replace("u", "").replace("U", "")
        if "m" in on:
            multiline = True
        elif "m" in off:
            multiline = False
        else:
            multiline = self.multiline
        text = f"(?{on}-{off}:" if off else f"(?{on}:"
        if scoped:
            self.groups.append(_Group(self.multiline))
            self.out.append(text)
        elif on and not off and self._only_flags_so_far():
            self.out.append(f"(?{on})")  # flags that open the pattern stay global (`re` allows them there)
        elif on or off:  # the rest of this group, as its own scoped group
            self.groups[-1].scopes.append(text)
            self.out.append(text)
        self.multiline = multiline

    def _only_flags_so_far(self) -> bool:
        """Whether `out` holds bare flag groups only (each item is looked at once: many groups stay linear)."""
        out, n = self.out, self.leading_flags
        while n < len(out) and out[n].startswith("(?") and out[n].endswith(")") and out[n][2:-1].isalpha():
            n += 1
        self.leading_flags = n
        return n == len(out)

    def _close(self) -> None:
        if len(self.groups) == 1:
            raise _NoTranslation("unbalanced")
        group = self.groups.pop()
        self.out.append(")" * len(group.scopes) + ")")
        self.multiline = group.multiline

    # --- escapes and classes ------------------------------------------------------------------------

    def _escape(self, in_class: bool) -> str:
        p = self.p
        if self.i >= len(p):
            raise _NoTranslation("trailing backslash")
        c = p[self.i]
        self.i += 1
        if c in "xu" and p.startswith("{", self.i):
            end = p.find("}", self.i)
            try:
                code = int(p[self.i + 1:end], 16) if end > self.i + 1 else -1
            except ValueError:
                code = -1
            if not 0 <= code <= 0x10FFFF:
                raise _NoTranslation("bad code point")
            self.i = end + 1
            return f"\\U{code:08x}"
        if c == "e":
            return "\\x1b"
        if c == "h":
            return _HEX if in_class else f"[{_HEX}]"
        if c == "s":
            return _SPACE if in_class else f"[{_SPACE}]"
        if c == "S" and not in_class:
            return f"[^{_SPACE}]"
        if c == "H" and not in_class:
            return f"[^{_HEX}]"
        if c == "K" and not in_class:
            return ""  # resets where the reported match starts: not whether there is one
        if c == "G" and not in_class:
            return "\\A"  # where the search started: the start, for a yes/no search
        if c in "HpPKGN" or (c.isdigit() and (c == "0" or in_class)):
            raise _NoTranslation(f"\\{c}")  # \H in a class, \p{..}, \K, \G: Rust only; \N{..}, octal: Python only
        if not in_class:
            if c == "z":
                return "\\Z"
            if c == "Z":
                return "(?=\\n?\\Z)"
            if c == "k" and p.startswith("<", self.i):
                end = p.find(">", self.i)
                if end < 0:
                    raise _NoTranslation("\\k")
                name, self.i = p[self.i + 1:end], end + 1
                return f"(?P={name})"
        return "\\" + c

    def _class(self) -> str:
        p = self.p
        negated = p.startswith("^", self.i)
        if negated:
            self.i += 1
        posix = self._posix()
        if posix is not None and p.startswith("]", self.i) and posix[1]:
            self.i += 1  # one negated POSIX class alone: [[:^digit:]] is [^0-9]
            return f"[{'' if negated else '^'}{posix[0]}]"
        items = [] if posix is None else [self._positive(posix)]
        if posix is None and p.startswith("]", self.i):
            items.append("\\]")  # a `]` first is a literal in both
            self.i += 1
        while True:
            if self.i >= len(p):
                raise _NoTranslation("unterminated class")
            c = p[self.i]
            if c == "]":
                self.i += 1
                return "[" + ("^" if negated else "") + "".join(items) + "]"
            if p.startswith(("&&", "--", "~~"), self.i):
                raise _NoTranslation("class set operation")
            if c == "[":
                posix = self._posix()
                if posix is None:
                    raise _NoTranslation("nested class")
                items.append(self._positive(posix))
                continue
            self.i += 1
            items.append(self._escape(in_class=True) if c == "\\" else c)

    def _posix(self) -> tuple[str, bool] | None:
        """A `[:name:]` / `[:^name:]` at the cursor: (its ASCII ranges, negated), or None."""
        p = self.p
        if not p.startswith("[:", self.i):
            return None
        end = p.find(":]", self.i + 2)
        if end < 0:
            return None
        name = p[self.i + 2:end]
        negated = name.startswith("^")
        ranges = _POSIX.get(name[1:] if negated else name)
        if ranges is None:
            raise _NoTranslation(f"[:{name}:]")
        self.i = end + 2
        return ranges, negated

    @staticmethod
    def _positive(posix: tuple[str, bool]) -> str:
        if posix[1]:
            raise _NoTranslation("negated POSIX class among others")
        return posix[0]
