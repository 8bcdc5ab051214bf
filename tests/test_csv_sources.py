"""CSV files as people bring them (tests/fixtures/csv/, fake people written from the facts in
FORMATS.md): spreadsheets in six languages, Outlook, Thunderbird, Roundcube, Google, Apple
Numbers, a one-column list, a day-first file, a column no exporter has. Each test checks field by
field what lands where, and that the summary says where every column went: nothing is dropped
without the user choosing it (--map COL=ignore)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

CSV = Path(__file__).parent / "fixtures" / "csv"


def imported(cli: Cli, name: str, *options: str) -> tuple[list[dict[str, Any]], str]:
    """Import fixture ``name``; (every contact as crm export writes it, by name; the summary)."""
    result = cli("import", str(CSV / name), *options)
    people: list[dict[str, Any]] = cli.json("export", "contacts")
    return sorted(people, key=lambda p: str(p["name"])), result.stderr


def columns_went(summary: str) -> dict[str, str]:
    """The summary's "Where the columns went" lines as column -> where (count cut off)."""
    lines = summary.split("Where the columns went:\n", 1)[1].splitlines()
    went = {}
    for line in lines:
        if not line.startswith("  ") or " -> " not in line:
            continue
        column, where = line.strip().split(" -> ", 1)
        went[column] = re.sub(r" \(\d+\)$", "", where)  # the count of values
    return went


def address(person: dict[str, Any], label: str | None) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in person["addresses"] if a["label"] == label)
    return found


def values(items: list[dict[str, Any]], key: str) -> list[tuple[Any, Any]]:
    return [(item[key], item["label"]) for item in items]


# --- European spreadsheets ------------------------------------------------------------------------


def test_german_excel_semicolons_cp1252_lose_nothing(cli: Cli) -> None:
    people, summary = imported(cli, "german-excel.csv")
    assert "(CSV, cp1252, delimiter ';')" in summary
    assert columns_went(summary) == {
        "Name": "name (split into given and family name)",
        "Firma": "company",
        "E-Mail": "emails",
        "Telefon": "phones",
        "Geburtstag": "birthday",
        "Notiz": "notes",
    }
    juergen, aenne = people  # sorted by code point: J before Ä
    assert (juergen["first_name"], juergen["last_name"]) == ("Jürgen", "Weiß")
    assert juergen["company"] == "Bäckerei Köhler GmbH"
    assert values(juergen["emails"], "email") == [("juergen.weiss@example.de", None)]
    assert values(juergen["phones"], "phone") == [("030 1234567", None)]
    assert juergen["birthday"] == "1991-01-20"
    assert juergen["notes"] == "Kunde seit 2019, ruft gern montags an"
    # 03.04.1980: a German date with dots is day first even where the day is 12 or less
    assert (aenne["company"], aenne["birthday"]) == ("Müller & Söhne KG", "1980-04-03")
    assert aenne["notes"] is None


def test_french_headers(cli: Cli) -> None:
    [helene], summary = imported(cli, "french.csv")
    assert columns_went(summary)["Service"] == "department"
    assert (helene["first_name"], helene["last_name"]) == ("Hélène", "Dupré")
    assert (helene["company"], helene["department"], helene["title"]) == (
        "Boulangerie Étoile",
        "Ventes",
        "Gérante",
    )
    assert values(helene["phones"], "phone") == [("06 12 34 56 78", "mobile")]
    assert values(helene["emails"], "email") == [("helene.dupre@example.fr", None)]
    assert helene["birthday"] == "1985-07-14"
    assert helene["addresses"] == [
        {"label": None, "street": "12 rue des Lilas", "city": "Paris", "region": None,
         "postal_code": "75011", "country": "France", "po_box": None, "extended": None}
    ]  # fmt: skip
    assert helene["notes"] == "Préfère le courriel"
    assert helene["fields"] == {}
    assert "Dates were read day first (03/04 is 3 April), as the file shows: line 2" in summary


def test_spanish_headers(cli: Cli) -> None:
    [jose], summary = imported(cli, "spanish.csv")
    assert (jose["first_name"], jose["last_name"], jose["name"]) == (
        "José",
        "García Núñez",
        "José García Núñez",
    )
    assert (jose["company"], jose["title"]) == ("Ferretería Peña", "Comprador")
    assert values(jose["phones"], "phone") == [("+34 612 345 678", "mobile")]
    assert values(jose["emails"], "email") == [("jose.garcia@example.es", None)]
    assert jose["birthday"] == "1979-11-02"
    place = address(jose, None)
    assert (place["street"], place["city"], place["postal_code"], place["country"]) == (
        "Calle Mayor 5",
        "Sevilla",
        "41001",
        "España",
    )
    assert jose["notes"] == "Llamar por la tarde" and jose["fields"] == {}
    assert "custom field" not in summary


def test_italian_headers(cli: Cli) -> None:
    [niccolo], summary = imported(cli, "italian.csv")
    assert (niccolo["first_name"], niccolo["last_name"]) == ("Niccolò", "Rossi")
    assert (niccolo["company"], niccolo["department"]) == ("Pasticceria Dolce", "Acquisti")
    assert values(niccolo["phones"], "phone") == [("+39 333 1234567", "mobile")]
    assert niccolo["birthday"] == "1990-12-25"
    place = address(niccolo, None)
    assert (place["street"], place["postal_code"], place["city"]) == (
        "Via Roma 10",
        "00184",
        "Roma",
    )
    assert niccolo["notes"] == "Cliente storico" and niccolo["fields"] == {}
    assert columns_went(summary)["CAP"] == "address, postal code"


def test_dutch_headers_put_the_tussenvoegsel_before_the_family_name(cli: Cli) -> None:
    [pieter], summary = imported(cli, "dutch.csv")
    assert (pieter["first_name"], pieter["last_name"]) == ("Pieter", "van der Berg")
    assert pieter["name"] == "Pieter van der Berg" and pieter["middle_name"] is None
    assert values(pieter["phones"], "phone") == [("020 123 4567", None), ("06 12345678", "mobile")]
    assert values(pieter["emails"], "email") == [("pieter@example.nl", None)]
    assert (pieter["company"], pieter["title"]) == ("Fietsen Berg BV", "Eigenaar")
    assert pieter["birthday"] == "1975-05-31"
    place = address(pieter, None)
    assert (place["street"], place["postal_code"], place["city"]) == (
        "Keizersgracht 1",
        "1015 AA",
        "Amsterdam",
    )
    assert pieter["notes"] == "Belt liever dan mailt" and pieter["fields"] == {}
    assert columns_went(summary)["Tussenvoegsel"] == "last name, the words before it (van der)"


def test_portuguese_headers_in_cp1252(cli: Cli) -> None:
    [joao], summary = imported(cli, "portuguese.csv")
    assert "cp1252" in summary
    assert (joao["first_name"], joao["last_name"]) == ("João", "Conceição")
    assert (joao["company"], joao["title"]) == ("Padaria São Jorge", "Gerente")
    assert values(joao["phones"], "phone") == [("+351 912 345 678", "mobile")]
    assert values(joao["emails"], "email") == [("joao.conceicao@example.pt", None)]
    assert joao["birthday"] == "1982-09-28"  # Aniversário is the birthday in Portuguese
    place = address(joao, None)
    assert (place["street"], place["postal_code"], place["city"], place["country"]) == (
        "Rua Augusta 100",
        "1100-053",
        "Lisboa",
        "Portugal",
    )
    assert joao["notes"] == "Cliente desde 2020" and joao["fields"] == {}


# --- the known exporters ----------------------------------------------------------------------------


def test_a_german_outlook_is_read_by_its_german_names(cli: Cli) -> None:
    [sabine], summary = imported(cli, "outlook-german.csv")
    assert "(CSV, cp1252, delimiter ';')" in summary
    parts = ("name_prefix", "first_name", "middle_name", "last_name")
    assert [sabine[k] for k in parts] == ["Frau", "Sabine", "Maria", "Köster"]
    assert (sabine["company"], sabine["department"], sabine["title"]) == (
        "Rheinwerk Logistik GmbH",
        "Einkauf",
        "Leiterin Einkauf",
    )
    assert sabine["addresses"] == [
        {"label": "work", "street": "Hafenstraße 12\nGebäude B\n3. OG", "city": "Köln",
         "region": "NRW", "postal_code": "50667", "country": "Deutschland",
         "po_box": "Postfach 10 20 30", "extended": None},
        {"label": "home", "street": "Lindenallee 5", "city": "Bonn", "region": None,
         "postal_code": "53111", "country": "Deutschland", "po_box": None, "extended": None},
    ]  # fmt: skip
    assert values(sabine["phones"], "phone") == [
        ("+49 221 123456", "work"),
        ("+49 221 123457", "work"),
        ("+49 171 2345678", "mobile"),
        ("+49 228 987654", "home"),
        ("+49 221 123458", "work fax"),
    ]
    assert [e["email"] for e in sabine["emails"]] == [
        "sabine.koester@example.de",
        "s.koester@example.org",
    ]
    assert (sabine["birthday"], sabine["anniversary"]) == ("1976-12-24", "2001-06-01")
    assert sabine["tags"] == ["Kunden", "Rheinland"]
    assert sabine["fields"] == {"Hobby": "Segeln"}  # not E-Mail-Typ's SMTP
    went = columns_went(summary)
    assert went["E-Mail-Typ"] == went["E-Mail: Angezeigter Name"] == "ignored (Outlook's own)"
    assert went["Land/Region geschäftlich"] == "work address, country"


def test_outlook_every_address_line_and_name_part(cli: Cli) -> None:
    people, summary = imported(cli, "outlook.csv")
    kenji, margaret = people
    assert "(Outlook," in summary
    parts = ("name_prefix", "first_name", "middle_name", "last_name", "name_suffix")
    assert [margaret[k] for k in parts] == ["Dr.", "Margaret", "Ann", "Okafor", "PhD"]
    assert (margaret["company"], margaret["department"], margaret["title"]) == (
        "Northwind Traders",
        "Research",
        "Head of Research",
    )
    work = address(margaret, "work")
    assert work["street"] == "Building 4\n100 Harbour Road\nSuite 12"  # Street, Street 2, 3
    assert (work["city"], work["region"], work["postal_code"], work["country"]) == (
        "Seattle",
        "WA",
        "98101",
        "United States of America",
    )
    assert work["po_box"] == "PO Box 4411"
    assert address(margaret, "home")["street"] == "7 Elm Lane"
    other = address(margaret, "other")
    assert (other["street"], other["city"], other["region"]) == (
        "Cabin 3\nLake Road",
        "Leavenworth",
        None,
    )
    assert values(margaret["emails"], "email") == [
        ("margaret.okafor@example.com", None),
        ("mokafor@example.org", None),
    ]
    assert sorted(values(margaret["phones"], "phone")) == [
        ("+1 206 555 0100", "work"),
        ("+1 206 555 0101", "work"),
        ("+1 206 555 0102", "work fax"),
        ("+1 206 555 0199", "mobile"),
        ("+1 425 555 0142", "home"),
    ]
    assert (margaret["birthday"], margaret["anniversary"]) == ("1980-04-15", "2005-06-21")
    assert margaret["tags"] == ["Customers", "VIP"]
    assert sorted(values(margaret["related"], "name")) == [
        ("David Okafor", "spouse"),
        ("Priya Shah", "assistant"),
        ("Sam Ortiz", "manager"),
        ("Tom", "child"),
    ]
    assert values(margaret["urls"], "url") == [
        ("https://northwind.example.com/people/okafor", None)
    ]
    assert margaret["notes"] == "Met at the trade fair.\nFollow up in May."
    assert margaret["fields"] == {
        "Hobby": "Sailing",
        "Initials": "M.A.O.",
        "User 1": "Key account",
        "referred by": "Liam Chen",
    }
    # Outlook's defaults (Normal, False, Unspecified) and 0/0/00 are not values
    assert "Gender" not in margaret["fields"] and kenji["birthday"] is None
    # Outlook's Account is the user's own text, not the company
    assert (kenji["company"], kenji["fields"]) == ("Contoso", {"Account": "ACC-7731"})
    # a template's placeholder phone is kept, flagged, not a reason to refuse the row
    assert kenji["phones"] == []
    assert kenji["invalid"] == [
        {
            "field": "phone",
            "label": "work",
            "value": "BusinessPhone",
            "reason": "not a phone number",
        }
    ]
    assert "Kept 1 value that is not what it claims to be, flagged (1 phone)" in summary
    went = columns_went(summary)
    assert went["Business Street 3"] == "work address, street3"
    assert went["E-mail Display Name"] == "ignored (Outlook's own)"
    assert went["User 1"] == 'custom field "User 1"'


def test_thunderbird_custom_columns_become_custom_fields(cli: Cli) -> None:
    [ingrid], summary = imported(cli, "thunderbird.csv")
    assert "(Thunderbird," in summary
    assert ingrid["name"] == "Ingrid Svensson (Lund)"  # Display Name
    assert (ingrid["first_name"], ingrid["last_name"], ingrid["nickname"]) == (
        "Ingrid",
        "Svensson",
        "Inga",
    )
    assert [e["email"] for e in ingrid["emails"]] == [
        "ingrid@example.se",
        "ingrid.svensson@example.org",
    ]
    assert values(ingrid["phones"], "phone") == [
        ("+46 46 123 45", "work"),
        ("+46 46 987 65", "home"),
        ("+46 46 123 46", "fax"),
        ("+46 70 123 4567", "mobile"),
    ]
    home, work = address(ingrid, "home"), address(ingrid, "work")
    assert (home["street"], home["city"], home["region"], home["postal_code"]) == (
        "Storgatan 1\nLägenhet 3",
        "Lund",
        "Skåne",
        "222 22",
    )
    assert (work["street"], work["city"], work["country"]) == (
        "Kungsgatan 10\nPlan 2",
        "Malmö",
        "Sweden",
    )
    assert (ingrid["company"], ingrid["department"], ingrid["title"]) == (
        "Öresund Design AB",
        "Purchasing",
        "Buyer",
    )
    assert [u["url"] for u in ingrid["urls"]] == [
        "https://oresund.example.se",
        "https://blog.example.se/ingrid",
    ]
    assert ingrid["birthday"] == "1987-09-30"  # Birth Year, Birth Month, Birth Day
    assert ingrid["handles"] == [
        {"kind": "im", "service": None, "handle": "ingrid.s", "label": None}
    ]
    assert ingrid["fields"] == {
        "Custom 1": "Prefers Swedish",
        "Custom 2": "Budget Q3",
        "Custom 3": "Met at Formex",
        "Custom 4": "Gold",
    }
    assert ingrid["notes"] == "Allergic to nuts"
    went = columns_went(summary)
    assert went["Birth Year"] == "birthday, year"
    # Thunderbird's trailing column has no name and no values: nothing to keep, and said so
    assert "  empty in every row: Pager Number, column 38\n" in summary


def test_roundcube(cli: Cli) -> None:
    [fatima], summary = imported(cli, "roundcube.csv")
    assert "(Roundcube," in summary
    assert fatima["name"] == "Dr. Fatima Benali"
    assert [fatima[k] for k in ("name_prefix", "first_name", "middle_name", "last_name")] == [
        "Dr.",
        "Fatima",
        "Zahra",
        "Benali",
    ]
    assert fatima["nickname"] == "Fafa"
    assert values(fatima["emails"], "email") == [
        ("fatima@example.ma", "home"),
        ("f.benali@example.com", "work"),
    ]
    assert values(fatima["phones"], "phone") == [
        ("+212 522 123456", "home"),
        ("+212 522 654321", "work"),
        ("+212 661 123456", "mobile"),
    ]
    assert address(fatima, "home")["region"] == "Casablanca-Settat"
    assert address(fatima, "work")["street"] == "5 Boulevard Zerktouni"
    assert (fatima["birthday"], fatima["anniversary"]) == ("1983-02-28", "2010-07-10")
    assert values(fatima["urls"], "url") == [
        ("https://atlas.example.ma", "homepage"),
        ("https://blog.example.ma/fatima", "blog"),
    ]
    assert [(h["service"], h["handle"]) for h in fatima["handles"]] == [
        ("xmpp", "fatima@jabber.example.ma"),
        ("skype", "fatima.benali"),
    ]
    assert values(fatima["related"], "name") == [("Karim Benali", "spouse")]
    assert fatima["tags"] == ["Suppliers"] and fatima["fields"] == {"Gender": "female"}
    assert columns_went(summary)["Gender"] == 'custom field "Gender"'


def test_google_every_list(cli: Cli) -> None:
    [aroha], summary = imported(cli, "google.csv")
    assert "(Google Contacts," in summary
    assert [aroha[k] for k in ("name_prefix", "first_name", "middle_name", "last_name")] == [
        "Ms.",
        "Aroha",
        "Mere",
        "Ngata",
    ]
    assert (aroha["nickname"], aroha["company"], aroha["title"], aroha["department"]) == (
        "Ro",
        "Kauri Consulting",
        "Partner",
        "Advisory",
    )
    assert aroha["birthday"] == "--03-17" and aroha["anniversary"] == "2012-11-03"
    assert values(aroha["emails"], "email") == [
        ("aroha@example.co.nz", "work"),
        ("aroha.ngata@example.net", "home"),
    ]
    # "* a ::: b": two phones, the primary first
    assert values(aroha["phones"], "phone") == [
        ("+64 21 555 0101", "mobile"),
        ("+64 21 555 0102", "mobile"),
        ("+64 9 555 0100", "work"),
    ]
    work, home = address(aroha, "work"), address(aroha, "home")
    assert (work["street"], work["extended"], work["postal_code"]) == (
        "1 Queen Street",
        "Level 5",
        "1010",
    )
    assert (home["street"], home["po_box"], home["postal_code"]) == (
        "22 Ponsonby Road",
        "PO Box 77",
        "1011",
    )
    assert values(aroha["urls"], "url") == [
        ("https://kauri.example.co.nz", "work"),
        ("https://social.example/@aroha", "profile"),
    ]
    assert values(aroha["related"], "name") == [("Tama Ngata", "spouse")]
    assert aroha["tags"] == ["Clients"]  # Google's own "myContacts" group is not a tag
    assert aroha["fields"] == {"Customer number": "K-00417"}
    assert aroha["notes"] == "Line one\nLine two, with a comma"


def test_apple_numbers_with_its_table_name_first(cli: Cli) -> None:
    people, summary = imported(cli, "apple-numbers.csv")
    assert "Skipped 1 line before the header." in summary
    noah, olivia = people
    assert (olivia["first_name"], olivia["last_name"], olivia["company"]) == (
        "Olivia",
        "Brown",
        "Harbour Books",
    )
    assert values(olivia["phones"], "phone") == [("+44 20 7946 0018", None)]
    assert olivia["birthday"] == "1988-03-12"
    assert (olivia["notes"], noah["notes"]) == ("Reads crime novels", "Met at the book fair")
    assert [e["email"] for e in noah["emails"]] == ["noah.evans@example.co.uk"]


# --- shapes and choices -----------------------------------------------------------------------------


def test_a_one_column_file_without_a_header_is_a_list_of_emails(cli: Cli) -> None:
    people, summary = imported(cli, "one-column.csv")
    assert [p["emails"][0]["email"] for p in people] == [
        "ann.lee@example.com",
        "bo.ray@example.org",
        "cy.young@example.net",
    ]
    assert "The file has no header row" in summary
    assert columns_went(summary) == {"column 1": "emails"}


@pytest.mark.parametrize(
    ("text", "column", "where", "names"),
    [
        ("E-Mail\r\nann@example.com\r\nbo@example.org\r\n", "E-Mail", "emails",
         ["ann@example.com", "bo@example.org"]),
        ("Name\nAnn Lee\nBo Ray\n", "Name", "name (split into given and family name)",
         ["Ann Lee", "Bo Ray"]),
    ],
)  # fmt: skip
def test_a_one_column_file_with_a_header(
    cli: Cli, tmp_path: Path, text: str, column: str, where: str, names: list[str]
) -> None:
    path = tmp_path / "one.csv"
    path.write_text(text, encoding="utf-8", newline="")
    result = cli("import", str(path))
    assert columns_went(result.stderr) == {column: where}
    assert sorted(c["name"] for c in cli.json("contact", "list")) == names


def test_one_day_over_12_proves_the_whole_file_day_first(cli: Cli) -> None:
    people, summary = imported(cli, "day-first.csv")
    assert [p["birthday"] for p in people] == ["1980-04-03", "1991-01-20", "1975-11-12"]
    assert "as the file shows: line 3: 20/01/1991" in summary


def test_an_unknown_column_is_a_custom_field_unless_ignored_on_purpose(
    cli: Cli, tmp_path: Path
) -> None:
    people, summary = imported(cli, "unknown-column.csv")
    assert [p["fields"] for p in people] == [
        {"Lieblingsfarbe": "teal", "Shoe size": "38"},
        {"Lieblingsfarbe": "green"},
    ]
    assert columns_went(summary)["Shoe size"] == 'custom field "Shoe size"'
    # --map COL=ignore: dropped because the user said so, and the summary says it
    copy = tmp_path / "again.csv"
    shutil.copy(CSV / "unknown-column.csv", copy)
    cli("contact", "rm", "1", "--yes")
    cli("contact", "rm", "2", "--yes")
    result = cli("import", str(copy), "--map", "Shoe size=ignore", "--on-duplicate", "create")
    assert columns_went(result.stderr)["Shoe size"] == "ignored (--map)"
    fresh = sorted(cli.json("export", "contacts"), key=lambda p: str(p["name"]))
    assert [p["fields"] for p in fresh] == [{"Lieblingsfarbe": "teal"}, {"Lieblingsfarbe": "green"}]


def test_dry_run_names_where_each_column_would_go(cli: Cli) -> None:
    result = cli("import", str(CSV / "thunderbird.csv"), "--dry-run")
    assert result.stderr.startswith("Dry run, nothing saved: would have imported 1 row")
    assert columns_went(result.stderr)["Custom 4"] == 'custom field "Custom 4"'
    assert cli.json("contact", "list") == []


def test_dry_run_lists_each_value_it_would_keep_flagged(cli: Cli) -> None:
    result = cli("import", str(CSV / "outlook.csv"), "--dry-run")
    assert result.stdout.splitlines() == [
        "position\taction\tname\tcontact_id\tpossible_duplicate_of",
        "line 4\tflag\tphone (work): BusinessPhone (not a phone number)\t\t",
        "line 2\tcreate\tMargaret Okafor\t1\t",
        "line 4\tcreate\tKenji Watanabe\t2\t",
    ]
    assert "would have imported 2 rows" in result.stderr
    assert "Kept 1 value that is not what it claims to be, flagged (1 phone)\n" in result.stderr
    assert cli.json("contact", "list") == []


@pytest.mark.parametrize(
    ("name", "start", "hint"),
    [
        ("people.xlsx", b"PK\x03\x04", "in Excel: File > Save As > CSV UTF-8"),
        ("people.ods", b"PK\x03\x04", "in LibreOffice: File > Save a Copy > Text CSV"),
        ("people.numbers", b"PK\x03\x04", "in Numbers: File > Export To > CSV"),
        ("people.csv", b"PK\x03\x04", "save it as CSV UTF-8 in the spreadsheet program"),
    ],
)
def test_a_workbook_is_refused_with_how_to_save_it_as_csv(
    cli: Cli, tmp_path: Path, name: str, start: bytes, hint: str
) -> None:
    path = tmp_path / name
    path.write_bytes(start + b"\x00" * 64)
    result = cli("import", str(path), code=2)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: {name} is ")
    assert hint in result.stderr
    assert cli.json("contact", "list") == []


#: docs/import-spreadsheets.md's rows -> (kind, argument) every name in that row must mean
_DOC_ROWS: dict[str, tuple[str, str | None]] = {
    "full name (split into first and last)": ("name", None),
    "first name": ("text", "first_name"),
    "last name": ("text", "last_name"),
    "words before the last name": ("surname_prefix", None),
    "middle name": ("text", "middle_name"),
    "nickname": ("text", "nickname"),
    "company": ("text", "company"),
    "department": ("text", "department"),
    "title": ("text", "title"),
    "email": ("email", None),
    "phone": ("phone", None),
    "phone labelled `mobile`": ("phone", "mobile"),
    "phone labelled `fax`": ("phone", "fax"),
    "street": ("addr", "street"),
    "postal code": ("addr", "postal_code"),
    "city": ("addr", "city"),
    "region": ("addr", "region"),
    "country": ("addr", "country"),
    "PO box": ("addr", "po_box"),
    "web address": ("website", None),
    "birthday": ("event", "birthday"),
    "anniversary": ("event", "anniversary"),
    "spouse (a related person)": ("related", "spouse"),
    "tags (split at commas and semicolons)": ("tags", ";"),
    "notes": ("notes", None),
    "source": ("text", "source"),
    "time zone": ("text", "time_zone"),
}


def test_the_european_spreadsheet_page_says_what_the_code_does() -> None:
    from crmcli.io.csv_headers import generic

    page = Path(__file__).parent.parent / "docs" / "import-spreadsheets.md"
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith(("| crmcli", "| ---"))
    ]
    checked = 0
    for label, *languages in rows:
        if label not in _DOC_ROWS:
            continue  # name prefix and suffix share a row (two targets): read by hand
        for cell in languages:
            for name in cell.split(","):
                if "(" in name or not name.strip():
                    continue  # "Nom (next to Prénom)": decided by the other columns
                target = generic(name.strip())
                assert target is not None and target[:2] == _DOC_ROWS[label], (label, name)
                checked += 1
    assert len(_DOC_ROWS) == len({r[0] for r in rows} & set(_DOC_ROWS)) and checked > 200


def test_a_hostile_header_is_shown_short_and_inert(cli: Cli, tmp_path: Path) -> None:
    long_name = "x" * 5000
    path = tmp_path / "hostile.csv"
    path.write_text(f'Name,"\x1b]0;pwned\x07[/b]",{long_name}\nAnn Lee,a,b\n', encoding="utf-8")
    result = cli("import", str(path))
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert max(len(line) for line in result.stderr.splitlines()) < 200
    [ann] = cli.json("export", "contacts")
    # both values kept, under custom field names made safe (crmcli's rule for field names)
    assert sorted(ann["fields"].values()) == ["a", "b"]
    assert all(key.isprintable() and len(key) <= 64 for key in ann["fields"])


def test_a_column_without_a_name_is_kept_by_its_place(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "stray.csv"
    path.write_text("Name,,Email\nAnn Lee,VIP since 2019,ann@example.com\n", encoding="utf-8")
    result = cli("import", str(path))
    assert columns_went(result.stderr)["column 2"] == 'custom field "column 2"'
    [ann] = cli.json("export", "contacts")
    assert ann["fields"] == {"column 2": "VIP since 2019"}
