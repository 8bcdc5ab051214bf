"""The lists a contact holds, one table each, described once: what ``get`` reads, what a change
or an import writes, what a merge joins and what an export packs all come from this table.

Each kind has its table, its value columns (in the order of its item type's fields), the item
type, and what makes two items the same (so an import or a merge adds only what is new).
Emails and phones are here for reading; their writes keep their own rules (a phone's digits,
the identity rules), in :mod:`crmcli.contact_apply`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from crmcli.contact_values import Address, Handle, Invalid, Labeled, Related, VcardProperty


class ListKind(NamedTuple):
    """One list of a contact: its name (the JSON key), table and value columns."""

    name: str
    table: str
    columns: tuple[str, ...]
    item: Callable[..., Any]
    #: what makes two items the same (a duplicate from a file or a merge is not added twice)
    key: Callable[[Any], str]

    def select(self) -> str:
        """The query of one contact's items, in order."""
        return (
            f"SELECT {', '.join(self.columns)} FROM {self.table} WHERE contact_id = ? "
            "ORDER BY position, id"
        )

    def insert(self) -> str:
        """The insert of one item (contact id, the value columns, then its position)."""
        marks = ", ".join("?" for _ in range(len(self.columns) + 2))
        return (
            f"INSERT INTO {self.table} (contact_id, {', '.join(self.columns)}, position) "
            f"VALUES ({marks})"
        )


def _folded(*parts: Any) -> str:
    return "\x1f".join(" ".join(str(p or "").lower().split()) for p in parts)


def _url_key(url: str) -> str:
    return url.strip().lower().rstrip("/")


KINDS: dict[str, ListKind] = {
    kind.name: kind
    for kind in (
        ListKind("emails", "contact_emails", ("email", "label"), Labeled,
                 lambda e: e.value.strip().lower()),
        ListKind("phones", "contact_phones", ("phone", "label"), Labeled, lambda p: p.value),
        ListKind("addresses", "contact_addresses", Address._fields, Address,
                 lambda a: _folded(*a.parts())),
        ListKind("urls", "contact_urls", ("url", "label"), Labeled, lambda u: _url_key(u.value)),
        ListKind("handles", "contact_handles", Handle._fields, Handle,
                 lambda h: _folded(h.kind, h.service, h.handle)),
        ListKind("related", "contact_related", ("name", "label", "related_id"), Related,
                 lambda r: _folded(r.name, r.label)),
        ListKind("invalid", "contact_invalid", Invalid._fields, Invalid,
                 lambda i: _folded(i.field, i.value)),
        ListKind("vcard", "contact_vcard_properties", ("grp", "name", "params", "value"),
                 VcardProperty, lambda v: v.line()),
    )
}  # fmt: skip
#: the lists a change, an import and a merge treat alike (emails, phones: see contact_apply)
PLAIN_KINDS = ("addresses", "urls", "handles", "related", "invalid", "vcard")


def read(conn: Any, kind: ListKind, contact_id: int) -> list[Any]:
    """One contact's items of ``kind``, in order."""
    make = kind.item
    return [make(*row) for row in conn.execute(kind.select(), (contact_id,))]
