"""Typed reads of icalendar property values, shared by the tests that parse what crmcli writes.

icalendar types ``component[name]`` as the union of every property class and ``decoded()`` as
Any, so each reader asserts the kind of value the test expects and returns it as that type."""

from __future__ import annotations

from datetime import date, datetime

import icalendar


def when(component: icalendar.cal.Component, name: str) -> date | datetime:
    """A date or time property's value (DTSTART, DUE...): a date, or a datetime with its zone."""
    value = component.decoded(name)
    assert isinstance(value, date | datetime), (name, value)
    return value


def recurrence(component: icalendar.cal.Component) -> icalendar.vRecur:
    """The component's RRULE, a mapping of each rule part to its list of values."""
    rule = component["RRULE"]
    assert isinstance(rule, icalendar.vRecur), rule
    return rule
