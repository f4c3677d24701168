"""What the demo generators share: weighted draws and the SQLite page cache of a bulk load."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import accumulate
from typing import Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")


class Weighted(Generic[T]):
    """A weighted choice whose cumulative weights are summed once, not on every draw."""

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        pairs = list(pairs)
        self.items = [item for item, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


@contextmanager
def sqlite_page_cache(conn: Connection, mebibytes: int) -> Iterator[None]:
    """On SQLite, a page cache big enough for growing indexes (the default is 2 MB), set
    back afterwards; nothing on other databases."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = {-1024 * mebibytes}")  # negative: in KiB
    conn.commit()
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")
        conn.commit()
