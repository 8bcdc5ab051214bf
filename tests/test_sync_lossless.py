"""crm sync on the lossless contact model: a phone's card is read by the one reader (every
property lands in the model, or is kept verbatim), a contact is written by the one writer, and
the property merge works on the new lists (addresses, URLs, handles, related people...)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli.io.vcard import _parse_line_full, parse_line
from crmcli.io.vcard_write import card_text
from crmcli.sync import card as cards
from tests.conftest import Cli
from tests.test_sync import contact, read, run_sync

PHOTO = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(64))).decode()
#: a phone's card (iPhone style, 3.0) with everything a phone writes and then some
PHONE_LINES = (
    "FN:Cy Dee",
    "N:Dee;Cy;Quentin;Dr.;",
    "ORG:Dee Trading;Purchasing",
    "TITLE:Buyer",
    "item1.EMAIL;type=INTERNET;type=pref:cy@dee.example",
    "item1.X-ABLabel:_$!<Other>!$_",
    "EMAIL;type=INTERNET:not-an-email",
    "TEL;type=CELL;type=VOICE;type=pref:+44 20 7946 0001",
    "item2.ADR;type=HOME:;;1 Main St;Town;;12345;UK",
    "item2.X-ABADR:gb",
    "ADR;type=WORK:;;2 Side St;City;;54321;UK",
    "item3.URL:https://dee.example",
    "item3.X-ABLabel:_$!<HomePage>!$_",
    "IMPP;X-SERVICE-TYPE=Skype;type=HOME:skype:cy.dee",
    "X-SOCIALPROFILE;type=twitter:https://twitter.example/cydee",
    "item4.X-ABRELATEDNAMES:Eve Dee",
    "item4.X-ABLabel:_$!<Spouse>!$_",
    "item5.X-ABDATE;type=pref:2015-06-20",
    "item5.X-ABLabel:first order",
    "BDAY:1979-03-02",
    f"PHOTO;ENCODING=b;TYPE=PNG:{PHOTO}",
    "X-PHONETIC-LAST-NAME:Dii",
    'X-UNKNOWN;X-PARAM="a:b";TYPE=x:kept, as it is',
    "CATEGORIES:customer,uk",
)


def card(uid: str, *lines: str) -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17//EN\r\nUID:{uid}\r\n{body}END:VCARD\r\n"


@pytest.fixture
def vd(tmp_path: Path) -> Path:
    (tmp_path / "vdir").mkdir()
    return tmp_path / "vdir"


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")


@pytest.mark.parametrize(
    "line",
    [
        "item1.EMAIL;type=INTERNET;type=pref:cy@dee.example",
        "TEL;WORK;VOICE;PREF:+1 555 0100",  # 2.1 bare parameters
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:caf=C3=A9",
        "NOTE;QUOTED-PRINTABLE:x",
        'X-UNKNOWN;X-PARAM="a:b;c";TYPE=x:kept',
        'ADR;LABEL="1 Main\\nSt";TYPE=home:;;1 Main St;;;;',
        "home.BEGIN:VCARD",
        "a.b.EMAIL:x@example.com",
        "EMAIL;;TYPE=work,,home:x@example.com",
        "email;type = Work :x@example.com",
        "EMAIL;TYPE=work;TYPE=home:x",
        "URL:https://example.com:8080/a:b",
        ":no name",
        "BAD NAME:x",
        "a. FN:x",
        " FN\t:x",
        "item1.X-ABShowAs:COMPANY",
        "no colon at all",
        "X-EMPTY:",
        "TEL;TYPE=cell;=odd:1",
        "\x1b]0;pwned\x07:x",
        "FN:" + "é" * 5000,
    ],
)
def test_the_fast_line_parser_gives_what_the_lexer_gives(line: str) -> None:
    def as_tuple(text: str) -> object:
        prop = parse_line(text)
        other = _parse_line_full(text)
        assert (prop is None) == (other is None)
        if prop is None or other is None:
            return None
        assert (other.group, other.name, other.params, other.value, other.head, other.spelling) == (
            prop.group,
            prop.name,
            prop.params,
            prop.value,
            prop.head,
            prop.spelling,
        )
        return prop.name

    as_tuple(line)


@given(st.text(alphabet='ab.;:=",\\ \tTEL', max_size=40))
def test_the_fast_line_parser_agrees_with_the_full_one_on_any_line(line: str) -> None:
    fast, full = parse_line(line), _parse_line_full(line)
    assert (fast is None) == (full is None)
    if fast is not None and full is not None:
        fields = ("group", "name", "params", "value", "head", "spelling")
        assert [getattr(fast, f) for f in fields] == [getattr(full, f) for f in fields]


def test_a_phones_card_lands_in_the_model_and_goes_back_whole(cli: Cli, vd: Path) -> None:
    phone = card("phone-cy", *PHONE_LINES)
    write(vd / "phone-cy.vcf", phone)
    assert [a["action"] for a in run_sync(cli, vd)] == ["add"]
    cy = contact(cli, "cy")
    assert cy["middle_name"] == "Quentin" and cy["name_prefix"] == "Dr."
    assert cy["company"] == "Dee Trading" and cy["department"] == "Purchasing"
    assert [(a["label"], a["city"]) for a in cy["addresses"]] == [
        ("home", "Town"),
        ("work", "City"),
    ]
    assert [u["url"] for u in cy["urls"]] == ["https://dee.example"]
    assert {(h["kind"], h["service"]) for h in cy["handles"]} == {
        ("im", "skype"),
        ("social", "twitter"),
    }
    assert [(r["name"], r["label"]) for r in cy["related"]] == [("Eve Dee", "spouse")]
    assert cy["photo"] and cy["birthday"] == "1979-03-02"
    assert [(i["field"], i["value"]) for i in cy["invalid"]] == [("email", "not-an-email")]
    kept = "\n".join(cy["vcard"])
    assert "X-PHONETIC-LAST-NAME:Dii" in kept and 'X-PARAM="a:b"' in kept
    assert run_sync(cli, vd) == []
    # a change in crmcli: only it is written; every line the phone wrote comes back as it was
    cli("contact", "edit", "cy", "--title", "Head buyer")
    assert [a["detail"] for a in run_sync(cli, vd)] == ["TITLE"]
    after = read(vd / "phone-cy.vcf")
    assert after == phone.replace("TITLE:Buyer", "TITLE:Head buyer")
    assert run_sync(cli, vd) == []


def test_phone_edits_of_the_lists_reach_crmcli_and_merge_with_crmclis(cli: Cli, vd: Path) -> None:
    path = vd / "phone-cy.vcf"
    write(path, card("phone-cy", *PHONE_LINES))
    run_sync(cli, vd)
    # the phone: a new town, another handle, a kept property changed, the bad email fixed
    text = read(path).replace(";Town;", ";Village;").replace("not-an-email", "cy@home.example")
    text = text.replace("X-PHONETIC-LAST-NAME:Dii", "X-PHONETIC-LAST-NAME:Dee")
    text = text.replace(
        "END:VCARD", "IMPP;X-SERVICE-TYPE=Matrix:matrix:@cy:dee.example\r\nEND:VCARD"
    )
    write(path, text)
    # crmcli, meanwhile: a URL and a related person added, a tag removed
    cli("contact", "edit", "cy", "--url", "work:https://work.dee.example",
        "--related", "assistant:Flo Fay", "--untag", "uk")  # fmt: skip
    actions = run_sync(cli, vd)
    assert sorted((a["side"], a["action"]) for a in actions) == [
        ("crmcli", "update"),
        ("vdir", "update"),
    ]
    cy = contact(cli, "cy")
    assert [a["city"] for a in cy["addresses"]] == ["Village", "City"]
    assert {h["service"] for h in cy["handles"]} == {"skype", "twitter", "matrix"}
    assert "X-PHONETIC-LAST-NAME:Dee" in cy["vcard"]
    assert [e["email"] for e in cy["emails"]] == ["cy@dee.example", "cy@home.example"]
    assert cy["invalid"] == [] and cy["tags"] == ["customer"]
    assert [u["url"] for u in cy["urls"]] == ["https://dee.example", "https://work.dee.example"]
    after = read(path)
    assert "URL;TYPE=work:https://work.dee.example" in after
    # what crmcli adds to a 3.0 card from the phone is in 3.0's forms, in a group of its own
    assert "item6.X-ABRELATEDNAMES:Flo Fay\r\nitem6.X-ABLabel:_$!<Assistant>!$_\r\n" in after
    assert "RELATED" not in after.replace("X-ABRELATEDNAMES", "")
    assert "CATEGORIES:customer\r\n" in after and "matrix:@cy:dee.example" in after
    for line in PHONE_LINES:  # what neither side touched is still as the phone wrote it
        if not any(k in line for k in ("Town", "not-an-email", "PHONETIC", "CATEGORIES")):
            assert line + "\r\n" in after, line
    assert run_sync(cli, vd) == []


def test_a_contact_of_crmcli_is_written_as_the_lossless_writer_writes_it(
    cli: Cli, vd: Path
) -> None:
    cli("contact", "add", "Ann Lee", "-e", "work:ann@acme.example", "--company", "Acme",
        "--department", "Sales", "--address", "work:1 Main St; Springfield; IL; 62701; USA",
        "--url", "https://acme.example", "--im", "xmpp:ann@acme.example",
        "--social", "mastodon:@ann@social.example", "--related", "spouse:Bob Lee",
        "--birthday", "--04-15", "--geo", "52.52,13.40", "--tz", "Europe/Berlin",
        "--field", "shoe size=42", "--field", "note=prefers mornings")  # fmt: skip
    run_sync(cli, vd)
    [path] = vd.glob("*.vcf")
    exported = cli.json("export", "contacts", "-f", "json")[0]
    fields = dict(exported["fields"])
    expected = card_text({**exported, "fields": fields, "notes": fields.pop("note")}, "4.0")
    assert read(path) == expected
    assert "NOTE:prefers mornings" in expected and 'X-CRM-FIELD;X-KEY="shoe size":42' in expected
    assert run_sync(cli, vd) == []
    # the same card read back by the one reader gives the same contact: nothing to take
    write(path, read(path).replace("TITLE", "TITLE"))
    assert run_sync(cli, vd) == []


def test_the_same_person_on_both_sides_in_two_forms_is_no_conflict(cli: Cli, vd: Path) -> None:
    """A first sync against a card of someone crmcli has, written by a phone in its own form
    (3.0, groups, labels): the same values in another form are no change of either side."""
    cli("contact", "add", "Cy Dee", "-e", "cy@dee.example", "--url", "homepage:https://dee.example",
        "--related", "spouse:Eve Dee", "--address", "home:1 Main St; Town; ; 12345; UK")  # fmt: skip
    phone = card("phone-cy", "FN:Cy Dee", "N:Dee;Cy;;;", "item1.EMAIL;type=INTERNET:cy@dee.example",
                 "item1.X-ABLabel:_$!<Other>!$_", "item2.URL:https://dee.example",
                 "item2.X-ABLabel:_$!<HomePage>!$_", "item3.X-ABRELATEDNAMES:Eve Dee",
                 "item3.X-ABLabel:_$!<Spouse>!$_", "ADR;type=HOME:;;1 Main St;Town;;12345;UK",
                 "X-PHONETIC-FIRST-NAME:Sai")  # fmt: skip
    write(vd / "phone-cy.vcf", phone)
    actions = run_sync(cli, vd)
    assert all(a["action"] != "conflict" for a in actions), actions
    assert len(cli.json("contact", "list")) == 1
    cy = contact(cli, "cy")
    assert [r["name"] for r in cy["related"]] == ["Eve Dee"]
    assert "X-PHONETIC-FIRST-NAME:Sai" in cy["vcard"]
    assert run_sync(cli, vd) == []


def test_a_photo_and_a_position_in_4_0_and_3_0_forms_are_the_same() -> None:
    four = cards.parse(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u\r\nFN:Ann\r\n"
        f"PHOTO:data:image/png;base64,{PHOTO}\r\nGEO:geo:52.52,13.4\r\nEND:VCARD\r\n"
    )
    three = cards.parse(card("u", "FN:Ann", f"PHOTO;ENCODING=b;TYPE=PNG:{PHOTO}", "GEO:52.52;13.4"))
    merged = cards.merge(None, four, None, three)
    assert merged.conflicts == [] and not merged.write_file and merged.to_local == set()
    other = cards.parse(card("u", "FN:Ann", "PHOTO;ENCODING=b;TYPE=PNG:AAAA", "GEO:52.52;13.5"))
    assert cards.merge(None, four, None, other).conflicts == ["PHOTO", "GEO"]
