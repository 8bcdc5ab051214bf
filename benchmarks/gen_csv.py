"""Generate a realistic Google Contacts CSV (current format) of fake people, for benchmarks.

Streams rows to the file, so a 1,000,000-row file takes no more memory than a 10-row one.

    python benchmarks/gen_csv.py contacts.csv 100000
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

HEADER = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Phonetic Middle Name",
    "Phonetic Last Name", "Name Prefix", "Name Suffix", "Nickname", "File As",
    "Organization Name", "Organization Title", "Organization Department", "Birthday", "Notes",
    "Photo", "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label",
    "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label",
    "Phone 2 - Value", "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street",
    "Address 1 - City", "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code",
    "Address 1 - Country", "Address 1 - Extended Address", "Website 1 - Label",
    "Website 1 - Value", "Event 1 - Label", "Event 1 - Value", "Custom Field 1 - Label",
    "Custom Field 1 - Value",
]  # fmt: skip

FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Daniel",
    "Elif",
    "Farah",
    "Gustav",
    "Hannah",
    "Ibrahim",
    "Julia",
    "Kenji",
    "Laura",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samuel",
    "Tomás",
    "Uma",
    "Victor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
]
LAST = [
    "García",
    "Okafor",
    "Dubois",
    "Kim",
    "Yılmaz",
    "Haddad",
    "Lindqvist",
    "Schmidt",
    "Diallo",
    "Rossi",
    "Watanabe",
    "Jones",
    "Fernández",
    "Berg",
    "Farouk",
    "Sharma",
    "Moreau",
    "Silva",
    "Cohen",
    "Novák",
    "Patel",
    "Ivanov",
    "Li",
    "Smith",
    "Brown",
    "Müller",
]
COMPANIES = ["Acme Corp", "Northwind Traders", "Solaris Energía", "Bluefin Logistics", "Cedar Health", "Nordlys AB", "Rheinwerk GmbH", "Vigna Alta", "Hikari Robotics", "Greenleaf Schools", "Pampa Agro, S.A.", ""]  # fmt: skip
TITLES = ["CTO", "Buyer", "Head of Procurement", "Operations Manager", "Founder", "CFO", ""]
CITIES = [("Madrid", "", "28001", "Spain"), ("Leeds", "", "LS1 4AP", "United Kingdom"), ("Austin", "TX", "78701", "USA"), ("Osaka", "", "530-0001", "Japan")]  # fmt: skip
SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "se",
    "la",
    "do",
    "vi",
    "na",
    "to",
    "be",
    "lu",
    "ga",
    "fe",
    "ho",
    "ni",
    "pa",
]
LABELS = ["* myContacts", "* myContacts ::: coworkers", "* myContacts ::: clients ::: vip", "* myContacts ::: family"]  # fmt: skip


def _row(rng: random.Random, n: int) -> list[str]:
    first = rng.choice(FIRST)
    last = rng.choice(LAST) + "-" + "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
    slug = f"{first.lower()}.{last.lower()}{n}"
    company = rng.choice(COMPANIES)
    domain = (company.split()[0].lower().strip(",") if company else "mail") + ".example"
    emails = f"{slug}@{domain}"
    if rng.random() < 0.15:
        emails += f" ::: {slug}@home.example"
    phone = f"+1 555 {n // 10000 % 10000:04d} {n % 10000:04d}"
    second = f"+44 20 {n // 10000 % 10000:04d} {n % 10000:04d}" if rng.random() < 0.3 else ""
    birthday = ""
    if rng.random() < 0.4:
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        birthday = (
            f"--{month:02d}-{day:02d}" if rng.random() < 0.3 else f"19{rng.randint(50, 99)}-{month:02d}-{day:02d}"
        )  # fmt: skip
    notes = (
        "Met at the trade show.\nFollow up in spring, bring samples." if rng.random() < 0.2 else ""
    )
    city, region, postal, country = rng.choice(CITIES) if rng.random() < 0.5 else ("", "", "", "")
    street = f"{rng.randint(1, 200)} Main Street" if city else ""
    return [
        first, "", last, "", "", "", "", "", "", "",
        company, rng.choice(TITLES) if company else "", "", birthday, notes, "",
        rng.choice(LABELS), "* Work", emails, "", "", "Mobile", phone,
        "Work" if second else "", second,
        "Work" if city else "", "", street, city, "", region, postal, country, "",
        "", "", "", "", "", "",
    ]  # fmt: skip


def write_google_csv(path: str | Path, rows: int, seed: int = 1) -> None:
    """Write ``rows`` fake contacts in Google Contacts' current CSV format (UTF-8 with BOM)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(_row(rng, n))


if __name__ == "__main__":
    write_google_csv(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
