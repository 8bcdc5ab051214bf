"""`crm contact edit --clear NAME`: each kind of field is emptied, and nothing else changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cli

#: what `crm contact show -f json` says of each field once it is cleared: (key, empty value)
CLEARED: dict[str, tuple[str, object]] = {
    "first_name": ("first_name", None),
    "last_name": ("last_name", None),
    "display_name": ("display_name", None),
    "company": ("company", None),
    "title": ("title", None),
    "street": ("street", None),
    "city": ("city", None),
    "region": ("region", None),
    "postal_code": ("postal_code", None),
    "country": ("country", None),
    "website": ("website", None),
    "source": ("source", None),
    "emails": ("emails", []),
    "phones": ("phones", []),
    "tags": ("tags", []),
    "referred_by": ("referred_by", None),
    "cadence": ("cadence_days", None),
    "birthday": ("birthday", None),
    "anniversary": ("anniversary", None),
    "territory": ("fields", {}),  # a custom field, by its key
}
#: the keys of the record that hold what a person typed (the rest is derived from them)
FIELD_KEYS = sorted({key for key, _ in CLEARED.values()})


@pytest.fixture
def ann(cli: Cli) -> dict[str, Any]:
    """Ann with every field set, referred by Rita; her record as `crm contact show` gives it."""
    cli("contact", "add", "Rita Ref")
    cli(
        "contact", "add", "Ann Lee", "--display", "Ann (Acme)", "--company", "Acme",
        "--title", "CTO", "--street", "1 Main St", "--city", "Leeds",
        "--region", "West Yorkshire", "--postal-code", "LS1", "--country", "GB",
        "--website", "https://acme.example", "--source", "trade fair",
        "-e", "work:ann@acme.example", "-p", "mobile:+44 20 7946 0000", "-t", "lead",
        "--referred-by", "rita", "--birthday", "1980-04-15", "--anniversary", "2010-06-01",
        "--field", "territory=North", "--cadence", "30d",
    )  # fmt: skip
    record: dict[str, Any] = cli.json("contact", "show", "ann@acme.example")
    return record


def fields_of(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in FIELD_KEYS}


@pytest.mark.parametrize(
    "name",
    [
        *CLEARED,
        # as a person types them: the option names' spelling, any case
        "postal-code",
        "referred-by",
        "First-Name",
        "field.territory",
    ],
)
def test_clear_empties_that_field_and_nothing_else(
    cli: Cli, ann: dict[str, Any], name: str
) -> None:
    key, empty = CLEARED[name.lower().replace("-", "_").removeprefix("field.")]
    assert ann[key] not in (None, [], {}), "the field to clear must be set first"
    ref = str(ann["id"])
    result = cli("contact", "edit", ref, "--clear", name)
    assert result.stderr.startswith(f"Updated contact {ref}: ")
    after = cli.json("contact", "show", ref)
    assert fields_of(after) == {**fields_of(ann), key: empty}


def test_the_other_contacts_are_left_alone(cli: Cli, ann: dict[str, Any]) -> None:
    rita = cli.json("contact", "show", "rita")
    for name in ("referred_by", "emails", "tags", "company"):
        cli("contact", "edit", str(ann["id"]), "--clear", name)
    after = cli.json("contact", "show", "rita")
    assert (after["referred"], rita["referred"]) == ([], [{"id": ann["id"], "name": ann["name"]}])
    assert {**after, "referred": []} == {**rita, "referred": []}
    assert cli.json("tag", "list") == []  # the tag is gone from Ann, the only one who had it


def test_clearing_every_field_at_once(cli: Cli, ann: dict[str, Any]) -> None:
    names = [name for name in CLEARED if name not in ("first_name", "last_name", "emails")]
    options = [part for name in names for part in ("--clear", name)]
    cli("contact", "edit", "ann@acme.example", *options)
    after = cli.json("contact", "show", "ann@acme.example")
    assert fields_of(after) == {
        **fields_of(ann),
        **{key: empty for name, (key, empty) in CLEARED.items() if name in names},
    }
    assert after["name"] == "Ann Lee"  # the display name is cleared: first and last again
    assert after["dates"] == []


def test_a_dates_entry_goes_with_its_date(cli: Cli, ann: dict[str, Any]) -> None:
    cli("contact", "edit", "ann@acme.example", "--clear", "birthday")
    after = cli.json("contact", "show", "ann@acme.example")
    assert [d["label"] for d in after["dates"]] == ["anniversary"]
