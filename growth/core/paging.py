"""The ``offset`` query parameter of list routes, bounded once for every feature.

Unbounded, an offset past 2**63 reaches PostgreSQL as an out-of-range BIGINT and answers 500
(found by the API fuzzer, issue 9); a million rows in is deeper than any page anyone reads.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

MAX_OFFSET = 1_000_000

Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]
