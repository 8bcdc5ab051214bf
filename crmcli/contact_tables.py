"""Every table that holds something about a contact, in one list.

``crm contact export-data`` reads a person's rows through it, ``crm contact forget`` erases
them through it (:mod:`crmcli.privacy`), and ``crm contact merge`` (:mod:`crmcli.merge`) learns
from it which rows follow a merged-away contact to the one kept. A table added later that
refers to a contact is one more line here (tests/test_privacy.py fails until it is: it compares
this list with the schema's foreign keys and ``contact_id`` columns).
"""

from __future__ import annotations

from typing import NamedTuple


class ContactTable(NamedTuple):
    """A table and its column that holds a contact's id.

    ``merge``: ``repoint`` (the rows follow a merged-away contact to the one kept), ``own`` (the
    contact's own data: merged value by value, the merged-away contact keeps its rows for an
    unmerge), or ``record`` (the merge and dedupe records themselves, left as they are).
    ``forget``: ``delete`` the person's rows, or ``unlink`` (set NULL: the rows are other
    people's, pointing at this one). ``export``: its rows are part of a data export."""

    table: str
    column: str
    merge: str
    forget: str = "delete"
    export: bool = True


#: in the order rows are erased: what depends on a row goes before it
CONTACT_TABLES: tuple[ContactTable, ...] = (
    # keyed by the event's subject (deal 12, purchase 9), which moves by itself: a rule does
    # not fire again for it after a merge
    ContactTable("rule_firings", "contact_id", "own"),
    # a send that cannot move (the kept contact has that greeting already) stays behind
    ContactTable("sends", "contact_id", "repoint"),
    ContactTable("notes", "contact_id", "repoint"),
    ContactTable("reminders", "contact_id", "repoint"),
    ContactTable("purchases", "contact_id", "repoint"),
    # kept by triggers on purchases: it follows them
    ContactTable("purchase_totals", "contact_id", "own"),
    ContactTable("deals", "contact_id", "repoint"),
    # the stricter request of the two wins (crmcli.merge)
    ContactTable("contact_consent", "contact_id", "own"),
    ContactTable("contact_emails", "contact_id", "own"),
    ContactTable("contact_phones", "contact_id", "own"),
    ContactTable("contact_tags", "contact_id", "own"),
    ContactTable("contact_fields", "contact_id", "own"),
    ContactTable("contact_dates", "contact_id", "own"),
    ContactTable("contact_uids", "contact_id", "own"),
    ContactTable("contact_addresses", "contact_id", "own"),
    ContactTable("contact_urls", "contact_id", "own"),
    ContactTable("contact_handles", "contact_id", "own"),
    ContactTable("contact_related", "contact_id", "own"),
    # other people's related persons who are this contact: they follow it, or lose the link
    ContactTable("contact_related", "related_id", "repoint", forget="unlink", export=False),
    ContactTable("contact_photos", "contact_id", "own"),
    ContactTable("contact_invalid", "contact_id", "own"),
    ContactTable("contact_vcard_properties", "contact_id", "own"),
    # what crm sync knows of the person's files (crmcli.sync): a merged-away record keeps its
    # rows, so its file is removed at the next sync; forget turns them into removals first
    ContactTable("sync_conflicts", "contact_id", "own"),
    ContactTable("sync_items", "contact_id", "own"),
    ContactTable("contact_merges", "keep_id", "record"),
    ContactTable("contact_merges", "other_id", "record"),
    ContactTable("dedupe_dismissed", "contact_id", "record"),
    ContactTable("dedupe_dismissed", "other_id", "record"),
    ContactTable("contact_search", "rowid", "own", export=False),
    ContactTable("contacts", "referred_by_id", "repoint", forget="unlink", export=False),
    ContactTable("contacts", "id", "own"),
)


class DependentTable(NamedTuple):
    """A table whose rows belong to a row of a contact's table (a deal's stage changes)."""

    table: str
    column: str
    parent: str


DEPENDENT_TABLES: tuple[DependentTable, ...] = (
    DependentTable("deal_stage_changes", "deal_id", "deals"),
)
