"""Real-world vCard quirks (tests/fixtures/vcard/, our own files with fake people, written from
the facts in /work/shared/FORMATS.md): what each property becomes, field by field, and that a
vCard export gives every property back."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from crmcli.io.vcard import logical_lines
from tests.conftest import Cli

VCARDS = Path(__file__).parent / "fixtures" / "vcard"
JPEG = (VCARDS / "photo.jpg").read_bytes()
PNG = (VCARDS / "photo.png").read_bytes()
ALL = sorted(p.name for p in VCARDS.glob("*.vcf"))


def load(cli: Cli, name: str, *extra: str) -> Any:
    """Import one fixture; the import's stderr."""
    return cli("import", str(VCARDS / name), *extra).stderr


def show(cli: Cli, name: str) -> dict[str, Any]:
    """``crm contact show`` of the one contact named ``name``."""
    found = [c for c in cli.json("contact", "list") if c["name"] == name]
    assert len(found) == 1, name
    contact: dict[str, Any] = cli.json("contact", "show", str(found[0]["id"]))
    return contact


def export(cli: Cli, version: str, *query: str, db: str | None = None) -> str:
    """The vCard export (written to a file: its bytes as they are, CRLF and all)."""
    target = Path(os.environ["HOME"]) / "export.vcf"
    on_db = ["--db", db] if db else []
    cli(*on_db, "export", "contacts", "-f", "vcf", "--vcard-version", version, *query,
        "-o", str(target), "--force")  # fmt: skip
    return target.read_bytes().decode("utf-8")


def unfolded(text: str) -> list[str]:
    return [line for _, line in logical_lines(text.splitlines(keepends=True))]


def photo_bytes(cli: Cli, uid: str) -> bytes:
    (contact,) = [c for c in cli.json("export", "contacts") if c["uid"] == uid]
    data: str = contact["photo"]["data"]
    return base64.b64decode(data)


# --- iPhone ---------------------------------------------------------------------------------


def test_iphone_cr_cr_lf_folded_groups_and_apple_labels(cli: Cli) -> None:
    stderr = load(cli, "iphone-3.0.vcf")
    assert "3 created" in stderr and "0 rejected" in stderr
    joerg = show(cli, "Apple Computer AG")
    # FN is a company while N is a person: both kept, the card's name is FN as written
    assert (joerg["name"], joerg["display_name"]) == ("Apple Computer AG", "Apple Computer AG")
    assert (joerg["first_name"], joerg["last_name"], joerg["nickname"]) == ("Jörg", "Müller", "Jö")
    assert joerg["company"] == "Apple Computer AG" and joerg["department"] is None
    assert joerg["emails"] == [
        {"email": "joerg@apfel.example", "label": "other"},  # item1.X-ABLabel:_$!<Other>!$_
        {"email": "j.mueller@privat.example", "label": "verein"},
    ]
    assert joerg["phones"] == [
        {"phone": "+41 79 555 01 23", "label": "mobile"},
        {"phone": "+41 44 555 01 00", "label": "work"},
    ]
    home = joerg["addresses"][1]
    assert [a["label"] for a in joerg["addresses"]] == ["work", "home"]
    assert (home["street"], home["city"], home["postal_code"]) == (
        "Seeweg 7\nHinterhaus",
        "Küsnacht",
        "8700",
    )
    assert joerg["urls"] == [
        {"url": "https://apfel.example", "label": "homepage"},
        {"url": "https://blog.apfel.example/joerg", "label": "blog"},
    ]
    assert joerg["handles"] == [
        {"kind": "im", "service": "skype", "handle": "joerg.mueller", "label": None},
        {"kind": "social", "service": "twitter", "handle": "https://twitter.example/joergm",
         "label": None},
    ]  # fmt: skip
    assert joerg["birthday"] == "--02-29" and joerg["anniversary"] == "2009-06-12"
    assert joerg["tags"] == ["Kunden", "Zürich"]
    # the folded note is one line again; \, and \; are plain commas and semicolons
    (note,) = joerg["notes"]
    assert note["body"].startswith("Kennengelernt an der Messe in Basel, Stand 4.")
    assert "Vormittag; nie am Freitag" in note["body"] and note["body"].endswith("sie faltet.")
    assert joerg["photo"] == {"media_type": "image/jpeg", "size": len(JPEG), "uri": None}
    assert photo_bytes(cli, joerg["uid"]) == JPEG
    assert joerg["vcard"] == [
        "PRODID:-//Apple Inc.//iPhone OS 17.1//EN",
        "X-ABShowAs:COMPANY",  # the name as the phone spelled it
        "item3.X-ABADR:ch",
        "item4.X-ABADR:ch",
        "X-ABUID:5F2C6B9A-0000-4000-8000-00000000A001:ABPerson",
    ]


def test_related_names_are_linked_to_the_contacts_they_are(cli: Cli) -> None:
    load(cli, "iphone-3.0.vcf")
    people = {c["name"]: c["id"] for c in cli.json("contact", "list")}
    joerg = show(cli, "Apple Computer AG")
    assert joerg["related"] == [
        {"name": "Anna Müller", "label": "spouse", "contact_id": people["Anna Müller"]},
        {"name": "Wile E. Coyote", "label": "assistant", "contact_id": people["Wile E. Coyote"]},
    ]
    wile = show(cli, "Wile E. Coyote")
    # FN "Wile E. Coyote" is not "given family" ("Wile Coyote"): kept as written
    assert (wile["name"], wile["middle_name"]) == ("Wile E. Coyote", "E.")


# --- Outlook 2.1 in cp1252 --------------------------------------------------------------------


def test_outlook_placeholders_are_kept_flagged_and_listed_not_refused(cli: Cli) -> None:
    stderr = load(cli, "outlook-2.1-cp1252.vcf")
    assert "2 created" in stderr and "0 rejected" in stderr
    assert "flagged (1 email, 3 phone)" in stderr
    issues = cli.json("contact", "issues")
    found = sorted((i["name"], i["field"], i["label"], i["value"]) for i in issues)
    assert found == [
        ("Dr. Jürgen Schönfeld", "email", None, "Sie erreichen mich unter der Firmenadresse"),
        ("Dr. Jürgen Schönfeld", "phone", "work", "BusinessPhone"),
        ("Zoë Ångström", "phone", "home", "HomePhone"),
        ("Zoë Ångström", "phone", "work", "BusinessPhone"),
    ]
    # and they go back out as the properties they came in
    card = export(cli, "3.0", "Zoë")
    assert "TEL;TYPE=work:BusinessPhone\r\n" in card and "TEL;TYPE=home:HomePhone\r\n" in card


def test_outlook_quoted_printable_without_charset_is_the_files_code_page(cli: Cli) -> None:
    load(cli, "outlook-2.1-cp1252.vcf")
    (jurgen,) = [c for c in cli.json("export", "contacts") if c["last_name"] == "Schönfeld"]
    assert (jurgen["first_name"], jurgen["name_prefix"]) == ("Jürgen", "Dr.")
    assert jurgen["name"] == "Dr. Jürgen Schönfeld"
    assert (jurgen["company"], jurgen["department"]) == ("Bäckerei Schönfeld", "Vertrieb")
    assert jurgen["title"] == "Geschäftsführer"  # the first TITLE; the second is kept
    assert jurgen["notes"] == "Liefert Brötchen, Preis 3€ pro Stück.\nZweite Zeile"  # € is cp1252
    assert [p["label"] for p in jurgen["phones"]] == ["home", "mobile", "work fax"]
    assert jurgen["anniversary"] == "2005-05-14"  # X-MS-ANNIVERSARY
    assert base64.b64decode(jurgen["photo"]["data"]) == JPEG  # indented 2.1 base64
    assert jurgen["vcard"] == [
        "ORG:Zweitfirma KG",
        "TITLE:Prokurist",
        # quoted-printable decoded, its comma escaped, its bare 2.1 parameters named
        "LABEL;TYPE=WORK,PREF:Hauptstraße 5\\nMünchen\\, BY 80331\\nDeutschland",
        "X-MS-OL-DEFAULT-POSTAL-ADDRESS:2",
        "X-MS-IMADDRESS:juergen@im.example",
        'X-MS-OL-DESIGN;CHARSET=utf-8:<card xmlns="http://schemas.microsoft.com/office/outlook/'
        '12/electronicbusinesscards" ver="1.0"/>',
        "REV:20231104T101500Z",
    ]
    zoe = next(c for c in cli.json("export", "contacts") if c["first_name"] == "Zoë")
    assert zoe["name"] == "Zoë Ångström" and zoe["display_name"] is None


# --- RFC 6350 (4.0) ---------------------------------------------------------------------------


def test_rfc6350_card_field_by_field(cli: Cli) -> None:
    load(cli, "rfc6350-4.0.vcf")
    claire = show(cli, "Claire M. Tremblay")
    assert claire["name"] == claire["display_name"] == "Claire M. Tremblay"
    names = ("first_name", "middle_name", "last_name", "name_prefix", "name_suffix", "nickname")
    assert [claire[k] for k in names] == [
        "Claire", "Marie,Louise", "Tremblay", "Dr.", "ing.,jr.", "Clo, Cece",
    ]  # fmt: skip
    assert claire["company"] == "Université Exemple"
    assert claire["department"] == "Département d'informatique; Laboratoire 3"
    assert (claire["title"], claire["role"]) == ("Chercheuse", "Responsable qualité")
    assert claire["phones"] == [
        {"phone": "+1-418-656-9254 ext. 102", "label": "work"},  # VALUE=uri, tel: with ext
        {"phone": "+1-418-262-6501", "label": "work video"},
    ]
    assert [e["email"] for e in claire["emails"]] == [
        "claire@maison.example",  # PREF=1 first
        "claire@univ.example",
    ]
    work, home = claire["addresses"]
    assert (work["extended"], work["street"], work["city"], work["postal_code"]) == (
        "Pavillon 3, local 101",
        "2325 rue de l'Université",
        "Québec",
        "G1V 0A6",
    )
    assert (home["label"], home["street"], home["city"]) == ("home", "12 rue des Érables", "Lévis")
    assert [u["url"] for u in claire["urls"]] == [
        "https://univ.example/~claire",
        "https://claire.example",
    ]
    assert [(h["kind"], h["service"], h["handle"], h["label"]) for h in claire["handles"]] == [
        ("im", "xmpp", "claire@jabber.example", None),
        ("im", "sip", "claire@voip.example", "work"),
        ("social", "mastodon", "https://social.example/@claire", None),
    ]
    luc = show(cli, "Luc Bouchard")
    assert claire["related"] == [
        {"name": "Marc Gagnon", "label": "spouse", "contact_id": None},  # nobody of that name
        {"name": "urn:uuid:9a3e1c20-5b7d-4e2f-8c1a-2b3c4d5e6f70", "label": "colleague",
         "contact_id": luc["id"]},
    ]  # fmt: skip
    assert (claire["geo"], claire["time_zone"]) == ("46.772673,-71.282945", "-05:00")
    assert (claire["birthday"], claire["anniversary"]) == ("1980-02-29", "2009-08-08")
    assert claire["photo"] == {"media_type": "image/png", "size": len(PNG), "uri": None}
    assert photo_bytes(cli, claire["uid"]) == PNG  # from a data: URI
    # "Smith\, Jones and Co" is one tag (a tag holds no comma: the comma becomes a space)
    assert claire["tags"] == ["amis", "Smith Jones and Co", "spaced tag"]
    assert [n["body"] for n in claire["notes"]] == [
        "Première ligne\nDeuxième ligne, avec une virgule"
    ]
    assert claire["vcard"] == [
        "KIND:individual",
        "ORG:Conseil Exemple",
        "TITLE:Présidente",
        "LANG;PREF=1:fr",
        "LANG;PREF=2:en",
        "KEY;MEDIATYPE=application/pgp-keys:https://univ.example/~claire/key.asc",
        'X-ACME-TIER;X-SOURCE="crm:old":gold\\;platinum\\,later',
        "SOURCE:https://univ.example/claire.vcf",
        "CLIENTPIDMAP:1;urn:uuid:3df403f4-5924-4bb7-b077-3c711d9eb34b",
        "REV:20231104T101500Z",
    ]


def test_vcard_4_export_writes_standard_properties(cli: Cli) -> None:
    load(cli, "rfc6350-4.0.vcf")
    card = unfolded(export(cli, "4.0", "Claire"))
    for line in (
        "N:Tremblay;Claire;Marie,Louise;Dr.;ing.,jr.",
        "NICKNAME:Clo",
        "NICKNAME:Cece",
        "ORG:Université Exemple;Département d'informatique;Laboratoire 3",
        "TITLE:Chercheuse",
        "ROLE:Responsable qualité",
        "ADR;TYPE=work:;Pavillon 3\\, local 101;2325 rue de l'Université;Québec;QC;G1V 0A6;Canada",
        "IMPP;X-SERVICE-TYPE=xmpp:xmpp:claire@jabber.example",
        "RELATED;TYPE=spouse;VALUE=text:Marc Gagnon",
        "RELATED;TYPE=colleague:urn:uuid:9a3e1c20-5b7d-4e2f-8c1a-2b3c4d5e6f70",
        "GEO:geo:46.772673,-71.282945",
        "TZ;VALUE=utc-offset:-05:00",
        "BDAY:19800229",
        "ANNIVERSARY:20090808",
        f"PHOTO:data:image/png;base64,{base64.b64encode(PNG).decode()}",
    ):
        assert line in card, line
    assert not [line for line in card if line.startswith("X-CRM-FIELD")]


# --- the smaller quirks ---------------------------------------------------------------------


def test_groups_on_every_line_even_begin(cli: Cli) -> None:
    load(cli, "groups-3.0.vcf")
    (ola,) = cli.json("export", "contacts")
    assert (ola["first_name"], ola["last_name"], ola["name"]) == ("Ola", "Nordmann", "Ola Nordmann")
    assert ola["emails"] == [
        {"email": "ola@hjem.example", "label": None},
        {"email": "ola@jobb.example", "label": "jobb"},
    ]


@pytest.mark.parametrize("name", ["utf16le-nobom.vcf", "utf16be-nobom.vcf"])
def test_utf16_without_a_byte_order_mark(cli: Cli, name: str) -> None:
    assert (VCARDS / name).read_bytes()[:2] in (b"B\x00", b"\x00B")  # no BOM
    load(cli, name)
    (lucja,) = cli.json("export", "contacts")
    assert (lucja["name"], lucja["last_name"]) == ("Łucja Wróbel", "Wróbel")
    assert lucja["phones"] == [{"phone": "+48 600 555 010", "label": "mobile"}]


def test_evolution_anniversary_related_and_im(cli: Cli) -> None:
    load(cli, "evolution-3.0.vcf")
    sven = show(cli, "Sven Lindqvist")
    assert (sven["nickname"], sven["department"], sven["role"]) == (
        "Svenne",
        "Utveckling",
        "Arkitekt",
    )
    assert sven["anniversary"] == "2001-06-23" and sven["birthday"] == "1972-11-03"
    assert [(r["name"], r["label"]) for r in sven["related"]] == [
        ("Karin Lindqvist", "spouse"),
        ("Eva Holm", "manager"),
        ("Per Ek", "assistant"),
    ]
    assert [(h["service"], h["handle"], h["label"]) for h in sven["handles"]] == [
        ("xmpp", "sven@jabber.example", "home"),
        ("skype", "sven.lindqvist", "work"),
    ]
    assert [a["city"] for a in sven["addresses"]] == ["Stockholm", "Uppsala"]
    assert sven["vcard"] == [
        "X-EVOLUTION-FILE-AS:Lindqvist\\, Sven",
        "X-EVOLUTION-BLOG-URL:https://sven.example/blog",
        "CALURI:https://cal.example/sven",
        "FBURL:https://cal.example/sven/free",
        "LABEL;TYPE=WORK:Storgatan 1\\n111 22 Stockholm\\nSverige",
        "LABEL;TYPE=HOME:Lillgatan 2\\n753 10 Uppsala\\nSverige",
        "X-MOZILLA-HTML:FALSE",
        "REV:2023-11-04T10:15:00Z",
    ]


def test_android_quoted_printable_utf8_junk_email_and_photo(cli: Cli) -> None:
    stderr = load(cli, "android-2.1.vcf")
    assert "1 created" in stderr and "flagged (1 email)" in stderr
    (tomasz,) = cli.json("export", "contacts")
    assert tomasz["name"] == "Tomasz Iksiński"  # not "Iksi\ufffdski"
    assert tomasz["emails"] == [{"email": "tomasz@firma.example", "label": "work"}]
    assert [(i["field"], i["label"], i["value"]) for i in tomasz["invalid"]] == [
        ("email", "home", "nie mam maila")
    ]
    assert tomasz["phones"] == [
        {"phone": "+48 601 555 012", "label": "mobile"},
        {"phone": "+48 22 555 01 23", "label": None},  # TEL;X-Praca: a label we cannot name
    ]
    assert tomasz["addresses"][0]["city"] == "Kraków"
    assert base64.b64decode(tomasz["photo"]["data"]) == JPEG
    assert tomasz["vcard"] == [
        "X-ANDROID-CUSTOM:vnd.android.cursor.item/nickname;Tomek;1;;;;;;;;;;;;;"
    ]


def test_google_export_several_addresses_urls_and_a_photo_link(cli: Cli) -> None:
    load(cli, "google-3.0.vcf")
    (ingrid,) = cli.json("export", "contacts")
    assert [(a["label"], a["city"]) for a in ingrid["addresses"]] == [
        ("home", "Oslo"),
        ("work", "Bergen"),
        ("hytte", "Geilo"),
    ]
    assert ingrid["urls"] == [
        {"url": "https://ingrid.example", "label": "profile"},  # Google's "https\://" unescaped
        {"url": "https://blog.ingrid.example", "label": "blog"},
    ]
    assert ingrid["phones"][1] == {"phone": "+47 22 55 01 23", "label": "hytte"}
    assert ingrid["anniversary"] == "2010-08-21"
    assert ingrid["related"] == [{"name": "Ola Nordmann", "label": "friend", "uid": None}]
    assert ingrid["handles"] == [
        {"kind": "im", "service": "skype", "handle": "ingrid.haugen", "label": None}
    ]
    assert ingrid["photo"] == {
        "media_type": None, "data": None, "uri": "https://photos.example/ingrid.jpg",
    }  # fmt: skip
    assert ingrid["vcard"] == ["X-PHONETIC-FIRST-NAME:Ingrid", "X-PHONETIC-LAST-NAME:Haugen"]


# --- giving everything back -----------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_property_kept_verbatim_goes_back_out(cli: Cli, name: str) -> None:
    """phone -> crmcli -> phone: what crmcli does not read is written back as it came."""
    load(cli, name)
    kept = [line for c in cli.json("export", "contacts") for line in c["vcard"]]
    for version in ("3.0", "4.0"):
        lines = unfolded(export(cli, version))
        assert all(line in lines for line in kept), (version, kept, lines)


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_export_import_export_is_byte_identical(cli: Cli, tmp_path: Path, version: str) -> None:
    for name in ALL:
        load(cli, name)
    first = export(cli, version)
    path = tmp_path / f"all-{version}.vcf"
    path.write_text(first, encoding="utf-8", newline="")
    other = str(tmp_path / "other.db")
    cli("--db", other, "import", str(path))
    assert export(cli, version, db=other) == first
    assert first.count("BEGIN:VCARD") == 12


def test_dry_run_says_where_each_property_went_and_saves_nothing(cli: Cli) -> None:
    result = cli("import", str(VCARDS / "iphone-3.0.vcf"), "--dry-run")
    went = result.stderr.split("Where the properties went:\n", 1)[1].splitlines()
    for line in (
        "  X-ABRELATEDNAMES -> related (2)",
        "  IMPP -> handles (1)",
        "  X-SOCIALPROFILE -> handles (1)",
        "  PHOTO -> photo (1)",
        "  X-ABUID -> kept as is (1)",
        "  X-ABADR -> kept as is (2)",
    ):
        assert line in went, line
    assert len(result.stdout.splitlines()) == 4  # a header and one line per card
    assert cli.json("contact", "list") == []
