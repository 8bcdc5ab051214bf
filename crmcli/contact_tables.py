"""Every table that holds something about a contact, in one list.

``crm contact export-data`` reads a person's rows through it and ``crm contact forget`` erases
them through it (:mod:`crmcli.privacy`); a table added later that refers to a contact is one
more line here (tests/test_privacy.py fails until it is: it compares this list with the
schema's foreign keys and ``contact_id`` columns).
"""

from __future__ import annotations

from typing import NamedTuple


class ContactTable(NamedTuple):
    """A table and its column that holds a contact's id.

    ``forget``: ``delete`` the person's rows, or ``unlink`` (set NULL: the rows are other
    people's, pointing at this one). ``export``: its rows are part of a data export."""

    table: str
    column: str
    forget: str = "delete"
    export: bool = True


#: in the order rows are erased: what depends on a row goes before it
CONTACT_TABLES: tuple[ContactTable, ...] = (
    ContactTable("rule_firings", "contact_id"),
    ContactTable("sends", "contact_id"),
    ContactTable("notes", "contact_id"),
    ContactTable("reminders", "contact_id"),
    ContactTable("purchases", "contact_id"),
    ContactTable("purchase_totals", "contact_id"),
    ContactTable("deals", "contact_id"),
    ContactTable("contact_consent", "contact_id"),
    ContactTable("contact_emails", "contact_id"),
    ContactTable("contact_phones", "contact_id"),
    ContactTable("contact_tags", "contact_id"),
    ContactTable("contact_fields", "contact_id"),
    ContactTable("contact_dates", "contact_id"),
    ContactTable("contact_search", "rowid", export=False),
    ContactTable("contacts", "referred_by_id", forget="unlink", export=False),
    ContactTable("contacts", "id"),
)


class DependentTable(NamedTuple):
    """A table whose rows belong to a row of a contact's table (a deal's stage changes)."""

    table: str
    column: str
    parent: str


DEPENDENT_TABLES: tuple[DependentTable, ...] = (
    DependentTable("deal_stage_changes", "deal_id", "deals"),
)
