"""The contacts domain: create, read, change, references, trash, listing."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from crmcli import contacts, identity
from crmcli.contact_changes import ContactChanges
from crmcli.contacts import Labeled, ListFilters, parse_labeled
from crmcli.errors import AmbiguousRef, NotFound, UsageError, ValidationError

NOW = datetime(2026, 11, 23, 9, 0)


def add(conn: sqlite3.Connection, first: str, last: str | None = None, **kw: object) -> int:
    changes = ContactChanges(text={"first_name": first, "last_name": last})
    for key, value in kw.items():
        setattr(changes, key, value)
    return contacts.create(conn, changes, now=NOW)


def test_create_and_get_everything(conn: sqlite3.Connection) -> None:
    referrer = add(conn, "Rita", "Ref")
    cid = contacts.create(
        conn,
        ContactChanges(
            text={
                "first_name": "Ann",
                "last_name": "Lee",
                "company": "Acme",
                "title": "CTO",
                "street": "1 Main St",
                "city": "Leeds",
                "region": "West Yorkshire",
                "postal_code": "LS1",
                "country": "GB",
                "website": "https://acme.example",
                "source": "trade show",
            },
            add_emails=[Labeled("ann@acme.example", "work"), Labeled("ann@home.example", "home")],
            add_phones=[Labeled("+44 113 555 0100", "work")],
            add_tags=["lead", "vip"],
            set_fields={"territory": "North"},
            dates={"birthday": "--04-15", "anniversary": "2019-06-01"},
            referred_by_id=referrer,
            cadence_days=30,
        ),
        now=NOW,
    )
    data = contacts.get(conn, cid).to_dict()
    assert data["name"] == "Ann Lee"
    assert data["emails"] == [
        {"email": "ann@acme.example", "label": "work"},
        {"email": "ann@home.example", "label": "home"},
    ]
    assert data["phones"] == [{"phone": "+44 113 555 0100", "label": "work"}]
    assert data["tags"] == ["lead", "vip"]
    assert data["fields"] == {"territory": "North"}
    assert data["birthday"] == "--04-15"
    assert data["anniversary"] == "2019-06-01"
    assert data["referred_by"] == {"id": referrer, "name": "Rita Ref"}
    assert data["cadence_days"] == 30
    assert data["city"] == "Leeds" and data["postal_code"] == "LS1"
    assert data["created_at"] == "2026-11-23T09:00:00Z"
    assert len(data["uid"]) == 36


@pytest.mark.parametrize(
    ("text", "value", "label"),
    [
        ("work:ann@x.example", "ann@x.example", "work"),
        ("ann@x.example", "ann@x.example", None),
        ("Mobile:+1 555 0100", "+1 555 0100", "mobile"),
        ("https://example.com", "https://example.com", None),
    ],
)
def test_parse_labeled(text: str, value: str, label: str | None) -> None:
    assert parse_labeled(text) == Labeled(value, label)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            ContactChanges(text={"first_name": "A"}, add_emails=[Labeled("nope")]),
            "email 'nope' is not an address (expected name@example.com)",
        ),
        (
            ContactChanges(text={"first_name": "A"}, add_emails=[Labeled("a@")]),
            "email 'a@' is not an address (expected name@example.com)",
        ),
        (
            ContactChanges(text={"first_name": "A"}, add_emails=[Labeled("a@example.")]),
            "email 'a@example.' is not an address (expected name@example.com)",
        ),
        (
            ContactChanges(text={"first_name": "A"}, add_phones=[Labeled("call me")]),
            "phone 'call me' is not a phone number (digits, spaces, + ( ) - . / and ext)",
        ),
        (ContactChanges(text={"shoe_size": "A"}), "unknown field 'shoe_size'"),
        (
            ContactChanges(text={"first_name": "A"}, add_tags=["a,b"]),
            "tag 'a,b' is not valid (a tag is non-empty and has no comma)",
        ),
        (
            ContactChanges(text={"first_name": "A"}, set_fields={"company": "x"}),
            "custom field name 'company' is a built-in field; use its own option instead",
        ),
        (ContactChanges(), "a contact needs a name, a company, an email or a phone"),
    ],
)
def test_invalid_input_writes_nothing(
    conn: sqlite3.Connection, changes: ContactChanges, message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        contacts.create(conn, changes, now=NOW)
    assert str(error.value).startswith(message)
    assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0


def test_bad_birthday_rejected(conn: sqlite3.Connection) -> None:
    with pytest.raises(Exception, match="cannot understand date"):
        add(conn, "Ann", dates={"birthday": "1981-02-29"})
    assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0


def test_name_falls_back_to_email_then_company(conn: sqlite3.Connection) -> None:
    by_email = contacts.create(conn, ContactChanges(add_emails=[Labeled("x@y.example")]), now=NOW)
    by_company = contacts.create(conn, ContactChanges(text={"company": "Acme"}), now=NOW)
    assert contacts.get(conn, by_email).name == "x@y.example"
    assert contacts.get(conn, by_company).name == "Acme"


def test_duplicates_of_finds_the_same_person_by_the_identity_rules(
    conn: sqlite3.Connection,
) -> None:
    ann = contacts.create(
        conn,
        ContactChanges(
            text={"first_name": "Ann", "last_name": "Lee", "company": "Acme"},
            add_emails=[Labeled("ann@acme.example")],
        ),
        now=NOW,
    )
    copy = ContactChanges(text={"first_name": "A."}, add_emails=[Labeled("ANN@Acme.example")])
    [match] = contacts.duplicates_of(conn, copy)
    assert (match.contact_id, match.name, match.verdict.level) == (ann, "Ann Lee", identity.EMAIL)
    bare = ContactChanges(text={"first_name": "ann", "last_name": "lee", "company": "ACME"})
    assert [m.verdict.reasons for m in contacts.duplicates_of(conn, bare)] == [
        ("same name", "same company")
    ]
    elsewhere = ContactChanges(
        text={"first_name": "Ann", "last_name": "Lee", "company": "Beta"},
        add_emails=[Labeled("ann@beta.example")],
    )
    assert contacts.duplicates_of(conn, elsewhere) == []
    assert contacts.duplicates_of(conn, copy, exclude=ann) == []
    # a contact in the trash is no duplicate
    contacts.trash(conn, ann, now=NOW)
    assert contacts.duplicates_of(conn, copy) == []


def test_update_adds_removes_and_clears(conn: sqlite3.Connection) -> None:
    cid = add(
        conn,
        "Ann",
        "Lee",
        add_emails=[Labeled("a@x.example")],
        add_tags=["lead"],
        add_phones=[Labeled("+1 (555) 010-2000")],
    )
    later = datetime(2026, 11, 24, 10, 0)
    contacts.update(
        conn,
        cid,
        ContactChanges(
            text={"title": "CEO", "last_name": "Lee-Smith"},
            add_emails=[Labeled("A@X.example"), Labeled("b@x.example", "home")],  # first is a dup
            remove_phones=["15550102000"],  # formatting ignored
            add_tags=["customer"],
            remove_tags=["lead"],
            dates={"birthday": "1980-04-15"},
        ),
        now=later,
    )
    contact = contacts.get(conn, cid)
    assert contact.name == "Ann Lee-Smith"
    assert contact.text["title"] == "CEO"
    assert [e.value for e in contact.emails] == ["a@x.example", "b@x.example"]
    assert contact.phones == []
    assert contact.tags == ["customer"]
    assert contact.dates == {"birthday": "1980-04-15"}
    assert contact.updated_at == "2026-11-24T10:00:00Z"
    contacts.update(
        conn, cid, ContactChanges(text={"title": None}, dates={"birthday": None}), now=later
    )
    contact = contacts.get(conn, cid)
    assert contact.text["title"] is None and contact.dates == {}


def test_failed_update_changes_nothing(conn: sqlite3.Connection) -> None:
    cid = add(conn, "Ann", "Lee", add_tags=["lead"])
    with pytest.raises(ValidationError, match="has no tag 'vip'"):
        contacts.update(
            conn, cid, ContactChanges(text={"title": "CEO"}, remove_tags=["vip"]), now=NOW
        )
    assert contacts.get(conn, cid).text["title"] is None


def test_clearing_unknown_custom_field_is_an_error(conn: sqlite3.Connection) -> None:
    cid = add(conn, "Ann", set_fields={"territory": "North"})
    with pytest.raises(ValidationError, match="unknown field 'shoe_size'"):
        contacts.update(conn, cid, ContactChanges(clear_fields=["shoe_size"]), now=NOW)
    contacts.update(conn, cid, ContactChanges(clear_fields=["territory"]), now=NOW)
    assert contacts.get(conn, cid).fields == {}


def test_resolve_by_id_email_name_and_fragment(conn: sqlite3.Connection) -> None:
    ann = add(conn, "Ann", None, add_emails=[Labeled("ann@acme.example")])
    anna = add(conn, "Anna", "Berg", add_emails=[Labeled("anna@berg.example")])
    joanne = add(conn, "Joanne", "Hill")
    assert contacts.resolve(conn, str(anna)) == anna
    assert contacts.resolve(conn, "ANN@acme.example") == ann
    assert contacts.resolve(conn, "ann") == ann  # exact name beats fragments
    assert contacts.resolve(conn, "berg") == anna
    assert contacts.resolve(conn, "hill") == joanne
    with pytest.raises(AmbiguousRef) as error:
        contacts.resolve(conn, "nn")
    assert len(error.value.candidates) == 3
    with pytest.raises(NotFound, match="no contact matches 'zed'"):
        contacts.resolve(conn, "zed")
    with pytest.raises(NotFound, match="no contact with id 999"):
        contacts.resolve(conn, "999")


def test_like_wildcards_are_literal(conn: sqlite3.Connection) -> None:
    add(conn, "Ann")
    with pytest.raises(NotFound):
        contacts.resolve(conn, "%")
    with pytest.raises(NotFound):
        contacts.resolve(conn, "_nn")


def test_trash_and_restore(conn: sqlite3.Connection) -> None:
    cid = add(conn, "Ann", "Lee")
    contacts.trash(conn, cid, now=NOW)
    with pytest.raises(NotFound):
        contacts.resolve(conn, "Ann Lee")
    assert list(contacts.list_contacts(conn, ListFilters())) == []
    assert [r["id"] for r in contacts.list_contacts(conn, ListFilters(deleted=True))] == [cid]
    assert contacts.resolve(conn, "ann", include_deleted=True) == cid
    contacts.restore(conn, cid)
    assert contacts.resolve(conn, "Ann Lee") == cid
    with pytest.raises(ValidationError, match="is not in the trash"):
        contacts.restore(conn, cid)


def test_list_filters_and_sorting(conn: sqlite3.Connection) -> None:
    a = add(
        conn, "Ann", "Lee", text={"first_name": "Ann", "company": "Acme"}, add_tags=["vip", "lead"]
    )
    b = add(conn, "Bob", "Ray", text={"first_name": "Bob", "company": "Zeta"}, add_tags=["lead"])
    c = contacts.create(
        conn,
        ContactChanges(text={"first_name": "Cy", "company": "Acme Two"}),
        now=datetime(2026, 12, 1, 9, 0),
    )

    def ids(**kw: object) -> list[int]:
        return [row["id"] for row in contacts.list_contacts(conn, ListFilters(**kw))]  # type: ignore[arg-type]

    assert ids() == [a, b, c]
    assert ids(tags=["lead"]) == [a, b]
    assert ids(tags=["lead", "vip"]) == [a]
    assert ids(company="acme") == [a, c]
    assert ids(text="zeta") == [b]
    assert ids(created_since=datetime(2026, 11, 30)) == [c]
    assert ids(sort="created", descending=True) == [c, b, a]
    assert ids(limit=2) == [a, b]
    with pytest.raises(UsageError, match="cannot sort by 'age'"):
        ids(sort="age")


def test_word_start_beats_inner_fragment(conn: sqlite3.Connection) -> None:
    ana = add(conn, "Ana", "García", add_emails=[Labeled("ana.garcia@solaris.example")])
    add(conn, "Aiko", "Tanaka", add_emails=[Labeled("aiko@hikari.example")])
    add(conn, "Elif", "Yilmaz", add_emails=[Labeled("elif@anatolia.example")])
    assert contacts.resolve(conn, "ana") == ana
    assert contacts.resolve(conn, "garc") == ana
    with pytest.raises(AmbiguousRef):
        contacts.resolve(conn, "a")  # Ana, Aiko (word starts) are both candidates
