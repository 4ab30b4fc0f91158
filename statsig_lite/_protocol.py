"""`Protocol` for the type checker, a plain base class at run time.

Importing typing costs a cold start about 2 ms and 2 MB, and the package's protocols only describe
interfaces to mypy: nothing checks them with isinstance or inherits their methods.
"""

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: see above
if TYPE_CHECKING:
    from typing import Protocol as Protocol
else:

    class Protocol:
        __slots__ = ()
