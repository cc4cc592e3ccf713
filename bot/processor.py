"""Processes updates of different users concurrently and each user's updates in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserOrderProcessor(BaseUpdateProcessor):
    """A burst of sign-ups does not queue behind one slow call, and one user's fast messages
    (a dialog, say) are handled one after another in the order they were sent.

    Updates are started in arrival order and each waits for the previous update of the same
    user (``asyncio.Lock`` wakes waiters first come, first served).
    """

    def __init__(
        self, max_concurrent_updates: int = 1024, on_update: Callable[[], object] | None = None
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._on_update = on_update  # counts each update (the metrics' counter)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self.finished = 0  # updates done so far (for tests, benchmarks and `kursbot chat`)
        self._progress = asyncio.Event()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Runs ``coroutine`` once the same user's earlier updates are done."""
        if self._on_update is not None:
            self._on_update()
        key = _key(update)
        if key is None:
            try:
                await coroutine
            finally:
                self._finish()
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._finish()
            self._users[key] -= 1
            if not self._users[key]:  # forget idle users, so the maps do not grow
                del self._users[key], self._locks[key]

    async def wait_for(self, count: int) -> None:
        """Waits until ``count`` updates have finished in total."""
        while self.finished < count:
            self._progress.clear()
            await self._progress.wait()

    def _finish(self) -> None:
        self.finished += 1
        self._progress.set()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None
