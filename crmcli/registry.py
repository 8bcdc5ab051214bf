"""Extension points, declared: a :class:`Registry` is a named, ordered set of entries of one
kind, filled in one place and read everywhere else.

The places where code plugs into crmcli are declared at the end of this module, each with the
call its entries answer: the listeners of events, the agenda's providers, a contact's history.
(:data:`crmcli.events.EVENTS` declares the events themselves; the CLI's own points, the demo's
views and the sections of ``crm contact show``, are in :mod:`crmcli.cli.views`, since the
library never names code of its CLI.) A new capability adds its entry here, one line.

Why not a module-level list: a list can be appended to twice, from anywhere, silently, and tests
have to monkeypatch it. A registry refuses a second entry of the same name, says what it holds
when a name is unknown, and lets a test swap entries for the length of a ``with`` block
(:meth:`Registry.replaced`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from crmcli.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind, in the order they were registered."""

    def __init__(self, what: str) -> None:
        #: what an entry is, for messages ("event", "listener")
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` as ``name``; a second entry of the same name is a programming error."""
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is registered already")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T | None:
        return self._entries.get(name)

    def __getitem__(self, name: str) -> T:
        """The entry called ``name``; UsageError naming the known ones otherwise."""
        found = self._entries.get(name)
        if found is None:
            from difflib import get_close_matches

            close = get_close_matches(name, list(self._entries), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"unknown {self.what} {name!r}{hint} (known: {', '.join(self._entries)})"
            )
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    @contextmanager
    def replaced(self, **entries: T | None) -> Iterator[None]:
        """For tests: these entries instead (None removes one) until the block ends."""
        saved = dict(self._entries)
        try:
            for name, entry in entries.items():
                if entry is None:
                    self._entries.pop(name, None)
                else:
                    self._entries[name] = entry
            yield
        finally:
            self._entries = saved


def load(target: Any) -> Any:
    """``"package.module:attribute"``: the attribute, its module imported now. Entries name their
    code this way so that registering them imports nothing (start-up time). Anything else (a
    function a test registers) is returned as it is."""
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


# --- where code plugs in ------------------------------------------------------------------------
# Entries run in the order they are registered here.

#: code that reacts to events (:mod:`crmcli.events`) inside the transaction that made them,
#: called as ``function(conn, occurrences)``
LISTENERS: Registry[Any] = Registry("listener")
LISTENERS.register("rules", "crmcli.rules:on_events")

#: the agenda's items (:mod:`crmcli.agenda`), each called as ``function(conn, window) -> Found``;
#: their sections are :data:`crmcli.agenda.SECTIONS`
AGENDA_PROVIDERS: Registry[Any] = Registry("agenda provider")
AGENDA_PROVIDERS.register("reminders", "crmcli.agenda:reminder_items")
AGENDA_PROVIDERS.register("touch", "crmcli.agenda:touch_items")
AGENDA_PROVIDERS.register("dates", "crmcli.agenda:date_items")
AGENDA_PROVIDERS.register("deals", "crmcli.agenda:stale_deal_items")

#: a contact's history (:mod:`crmcli.history`), each called as ``function(conn, contact_id) ->
#: list[HistoryEvent]``. Greetings and campaign messages sent are notes, so they come with notes.
HISTORY_PROVIDERS: Registry[Any] = Registry("history provider")
HISTORY_PROVIDERS.register("notes", "crmcli.history:note_events")
HISTORY_PROVIDERS.register("reminders", "crmcli.history:reminder_events")
HISTORY_PROVIDERS.register("deals", "crmcli.history:deal_events")
HISTORY_PROVIDERS.register("purchases", "crmcli.history:purchase_events")
