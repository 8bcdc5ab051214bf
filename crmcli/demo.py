"""Realistic sample data for ``crm demo``: a salesperson's book of about thirty customers.

Deterministic (a fixed random seed, dates relative to "now"), so the demo looks the same each
run. Other capabilities add their own seeders to :data:`SEEDERS`.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import datetime

from crmcli import contacts
from crmcli.contact_changes import ContactChanges
from crmcli.contacts import Labeled

PEOPLE = [
    ("Ana", "García", "Solaris Energía", "Head of Procurement", "Madrid", "ES", "+34 612 345 678"),
    ("Ben", "Okafor", "Northwind Traders", "Operations Manager", "Leeds", "GB", "+44 7700 900123"),
    ("Chloé", "Dubois", "Atelier Lumière", "Founder", "Lyon", "FR", "+33 6 12 34 56 78"),
    ("Daniel", "Kim", "Bluefin Logistics", "CTO", "Seattle", "US", "+1 206 555 0143"),
    ("Elif", "Yılmaz", "Anatolia Foods", "Purchasing Lead", "Izmir", "TR", "+90 532 555 0199"),
    ("Farah", "Haddad", "Cedar Health", "IT Director", "Beirut", "LB", "+961 3 555 012"),
    ("Gustav", "Lindqvist", "Nordlys AB", "CFO", "Stockholm", "SE", "+46 70 555 01 23"),
    ("Hannah", "Schmidt", "Rheinwerk GmbH", "Plant Manager", "Köln", "DE", "+49 151 5550 1234"),
    ("Ibrahim", "Diallo", "Sahel Telecom", "Network Architect", "Dakar", "SN", "+221 77 555 01 02"),
    ("Julia", "Rossi", "Vigna Alta", "Export Manager", "Verona", "IT", "+39 345 555 0101"),
    ("Kenji", "Watanabe", "Hikari Robotics", "Engineering Lead", "Osaka", "JP", "+81 90 5555 0123"),
    ("Laura", "Jones", "Greenleaf Schools", "Principal", "Austin", "US", "+1 512 555 0170"),
    ("Mateo", "Fernández", "Pampa Agro", "Owner", "Córdoba", "AR", "+54 9 351 555 0101"),
    ("Nora", "Berg", "Fjord Design", "Creative Director", "Bergen", "NO", "+47 412 55 012"),
    ("Omar", "Farouk", "Nile Freight", "COO", "Cairo", "EG", "+20 100 555 0123"),
    ("Priya", "Sharma", "Lotus Analytics", "Data Lead", "Pune", "IN", "+91 98765 55012"),
    ("Quentin", "Moreau", "Moreau & Fils", "Partner", "Bordeaux", "FR", "+33 7 55 50 12 34"),
    ("Rosa", "Silva", "Atlântico Seguros", "Head of Claims", "Porto", "PT", "+351 912 555 012"),
    ("Samuel", "Cohen", "Carmel Labs", "Research Director", "Haifa", "IL", "+972 52 555 0123"),
    ("Tomás", "Novák", "Vltava Glass", "Sales Director", "Brno", "CZ", "+420 601 555 012"),
    ("Uma", "Patel", "Brightside Retail", "Store Operations", "Leicester", "GB", "+44 7700 900456"),
    ("Victor", "Ivanov", "Baltic Timber", "Buyer", "Riga", "LV", "+371 2555 0123"),
    ("Wen", "Li", "Jade River Tech", "Product Manager", "Shenzhen", "CN", "+86 139 5555 0123"),
    ("Ximena", "López", "Café Altura", "Co-founder", "Bogotá", "CO", "+57 310 555 0123"),
    (
        "Yusuf",
        "Aydın",
        "Bosphorus Textiles",
        "Managing Director",
        "Istanbul",
        "TR",
        "+90 533 555 0123",
    ),
    ("Zoe", "Taylor", "Harbour Dental", "Practice Manager", "Sydney", "AU", "+61 412 555 012"),
    ("Aiko", "Tanaka", "Hikari Robotics", "Procurement", "Osaka", "JP", "+81 80 5555 0456"),
    ("Bruno", "Costa", "Solaris Energía", "Site Engineer", "Sevilla", "ES", "+34 622 555 012"),
]

TAGS = ["customer", "lead", "vip", "partner", "trade-show-2026", "newsletter"]
SOURCES = ["referral", "website", "trade show", "LinkedIn", "cold call"]

Seeder = Callable[[sqlite3.Connection, datetime, random.Random, list[int]], None]


def seed_contacts(
    conn: sqlite3.Connection, now: datetime, rng: random.Random, ids: list[int]
) -> None:
    for first, last, company, title, city, country, phone in PEOPLE:
        domain = _ascii(company.lower().split()[0].replace("&", "")) + ".example"
        tags = rng.sample(TAGS, k=rng.randint(1, 2))
        birthday = None
        if rng.random() < 0.6:
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            birthday = (
                f"{rng.randint(1960, 1995)}-{month:02d}-{day:02d}"
                if rng.random() < 0.7
                else f"--{month:02d}-{day:02d}"
            )
        changes = ContactChanges(
            text={
                "first_name": first,
                "last_name": last,
                "company": company,
                "title": title,
                "source": rng.choice(SOURCES),
            },
            address_parts={"city": city, "country": country},
            website=f"https://{domain}",
            add_emails=[Labeled(f"{_ascii(first)}.{_ascii(last)}@{domain}".lower(), "work")],
            add_phones=[Labeled(phone, "mobile")],
            add_tags=tags,
            dates={"birthday": birthday} if birthday else {},
        )
        if rng.random() < 0.3:
            changes.set_fields["territory"] = rng.choice(["EMEA", "AMER", "APAC"])
        if ids and rng.random() < 0.2:
            changes.referred_by_id = rng.choice(ids)
        if rng.random() < 0.3:
            changes.cadence_days = rng.choice([14, 30, 60])
        ids.append(contacts.create(conn, changes, now=now))


def _ascii(text: str) -> str:
    import unicodedata

    # NFKD splits é into e + accent; a few letters (Turkish ı, ø, ß, ł) have no such split
    spelled: dict[str, str | int | None] = {"ı": "i", "ø": "o", "ß": "ss", "ł": "l", "đ": "d"}
    text = text.translate(str.maketrans(spelled))
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


#: run in order; each may use the ids of the contacts made before it
SEEDERS: list[Seeder] = [seed_contacts]


def build(conn: sqlite3.Connection, now: datetime) -> list[int]:
    """Fill an empty database with the demo book; returns the contact ids."""
    rng = random.Random(2026)
    ids: list[int] = []
    for seeder in SEEDERS:
        seeder(conn, now, rng, ids)
    return ids


def seed_dates(conn: sqlite3.Connection, now: datetime, rng: random.Random, ids: list[int]) -> None:
    """Anniversaries and labelled dates close to "now", a greeting template and two rules, so the
    demo's upcoming dates and `crm greet --due --dry-run` have something to show."""
    from datetime import timedelta

    from crmcli import anniversaries, greetings, templates
    from crmcli.dates import YearlyDate

    today = now.date()
    plan = [
        (0, "birthday", 1984),
        (1, "anniversary", 2021),
        (3, "customer since", 2019),
        (5, "birthday", None),
        (9, "anniversary", 2016),
        (12, "kid turns 21", 2005),
        (20, "customer since", 2023),
    ]
    for index, (offset, label, year) in enumerate(plan):
        on = today + timedelta(days=offset)
        yearly = YearlyDate(on.month, on.day, year)
        anniversaries.set_date(conn, ids[(index * 4 + 1) % len(ids)], label, yearly, today=today)
    templates.add(
        conn,
        "birthday",
        "Happy birthday, {first_name}!",
        "Dear {first_name},\n\nHappy birthday from all of us.\n\nBest wishes,\n{sender}\n",
        now=now,
    )
    templates.add(
        conn,
        "thank-you",
        "{nth} year together, {first_name}: thank you",
        "Dear {first_name},\n\n{years} years ago {company} placed its first order with us."
        " Thank you for your trust.\n\n{sender}\n",
        now=now,
    )
    greetings.add_rule(conn, "birthday", "birthday", now=now)
    greetings.add_rule(conn, "customer since", "thank-you", days_before=3, now=now)


SEEDERS.append(seed_dates)


def seed_deals(conn: sqlite3.Connection, now: datetime, rng: random.Random, ids: list[int]) -> None:
    """A pipeline: deals in every stage, some stale, some won and lost, a quarterly goal."""
    from datetime import timedelta

    from crmcli import deals, forecast
    from crmcli.deal_changes import NewDeal

    plan = [
        # title, value (minor units), currency, stages walked, days ago created, days per step
        ("Solar farm monitoring", 4_800_000, "EUR", ["negotiation"], 40, 9),
        ("Fleet tracking pilot", 1_250_000, "USD", ["proposal"], 25, 8),
        ("Wine export labels", 620_000, "EUR", ["qualified"], 50, 40),
        ("Robot arm service plan", 3_000_000, "JPY", ["proposal"], 20, 5),
        ("Clinic network upgrade", 2_200_000, "USD", ["qualified", "proposal"], 30, 6),
        ("Glassworks ERP", 1_800_000, "EUR", [], 45, 0),
        ("Retail analytics", 950_000, "GBP", ["qualified"], 12, 4),
        ("Timber yard sensors", 400_000, "EUR", [], 5, 0),
        ("Dental chairs", 780_000, "AUD", ["negotiation"], 60, 15),
        ("Coffee roaster line", 300_000, "USD", [], 2, 0),
        ("Textile CAD seats", 1_500_000, "EUR", ["proposal", "won"], 70, 12),
        ("Freight portal", 2_600_000, "USD", ["negotiation", "won"], 90, 20),
        ("Telecom backhaul", 5_000_000, "EUR", ["proposal", "lost"], 80, 15),
        ("School tablets", 1_100_000, "USD", ["qualified", "lost"], 65, 10),
        ("Design studio licences", 450_000, "EUR", ["won"], 20, 7),
    ]
    reasons = ["price", "competitor", "timing"]
    for index, (title, value, currency, path, ago, step) in enumerate(plan):
        start = now - timedelta(days=ago)
        close = (now + timedelta(days=rng.randint(-5, 75))).date()
        deal_id = deals.add(
            conn,
            NewDeal(
                contact_id=ids[index % len(ids)],
                title=title,
                value_minor=value,
                currency=currency,
                expected_close=close,
                source=rng.choice(["referral", "website", "trade show"]),
            ),
            now=start,
        )
        for number, stage in enumerate(path, 1):
            at = start + timedelta(days=step * number)
            if stage == "won":
                deals.win(conn, deal_id, now=at)
            elif stage == "lost":
                deals.lose(conn, deal_id, reasons[index % len(reasons)], now=at)
            else:
                deals.move(conn, deal_id, stage, now=at)
    quarter = (now.month - 1) // 3 + 1
    forecast.set_goal(conn, f"{now.year}-Q{quarter}", 8_000_000, "EUR", now=now)


SEEDERS.append(seed_deals)
NOTE_SAMPLES = [
    ("call", "Called about the renewal; wants a revised quote with volume pricing."),
    ("email", "Sent the product sheet and the reference list."),
    ("meeting", "Demo with the team went well; next step is a pilot."),
    ("note", "Prefers mornings; assistant handles the calendar."),
    ("call", "Left a voicemail about the Q1 order."),
    ("meeting", "Lunch at the trade show: interested in the new range."),
    ("email", "Asked for payment terms of 60 days."),
]
REMINDER_SAMPLES = [
    "Send the revised quote",
    "Follow up on the pilot",
    "Call back about the invoice",
    "Check in after the delivery",
    "Ask for a referral",
    "Book the quarterly review",
]


def seed_notes_reminders(
    conn: sqlite3.Connection, now: datetime, rng: random.Random, ids: list[int]
) -> None:
    """Notes over the last months and reminders around today: an agenda with every section."""
    from datetime import time, timedelta

    from crmcli import notes, reminders
    from crmcli.clock import local_naive
    from crmcli.dates import When

    local = local_naive(now).replace(second=0, microsecond=0)
    for contact_id in ids:
        for _ in range(rng.randint(0, 3)):
            kind, body = rng.choice(NOTE_SAMPLES)
            at = local - timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 600))
            notes.add(conn, contact_id, body, now=local, kind=kind, at=at)
    today = local.date()
    plan = [(-3, True), (-1, False), (0, True), (0, False), (1, True), (3, False), (5, True)]
    for offset, timed in plan:
        day = today + timedelta(days=offset)
        hour = rng.choice([9, 10, 14, 16]) if timed else 0
        due = When(datetime.combine(day, time(hour)), timed)
        reminders.add(conn, rng.choice(REMINDER_SAMPLES), due, now=now, contact_id=rng.choice(ids))
    weekly = When(datetime.combine(today + timedelta(days=2), time(10)), True)
    reminders.add(conn, "Pipeline review", weekly, now=now, rule="FREQ=WEEKLY")
    reminders.add(
        conn,
        "Send the monthly newsletter",
        When(datetime.combine(today, time()), False),
        now=now,
        rule="FREQ=MONTHLY",
    )


SEEDERS.append(seed_notes_reminders)


PRODUCTS = [("Widget", 4_900), ("Widget Pro", 12_900), ("Service plan", 39_000),
            ("Spare parts kit", 2_500), ("Training day", 85_000), ("Sensor pack", 18_000)]  # fmt: skip


def seed_purchases(
    conn: sqlite3.Connection, now: datetime, rng: random.Random, ids: list[int]
) -> None:
    """Two years of purchases with customers of every kind (regulars, one-off buyers, lapsed
    ones), so `crm customers` shows every segment; and two saved segments."""
    from datetime import timedelta

    from crmcli import purchases, segments

    today = now.date()
    for index, contact_id in enumerate(ids):
        kind = index % 5
        if kind == 4:
            continue  # not a customer (yet)
        # regulars buy often and lately; lapsed ones stopped long ago; the rest now and then
        count = {0: rng.randint(8, 14), 1: rng.randint(3, 6), 2: 1, 3: rng.randint(2, 5)}[kind]
        newest = {0: 20, 1: 120, 2: 60, 3: 400}[kind]
        for _ in range(count):
            product, price = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 1, 2, 5])
            days_ago = rng.randint(0, newest) if _ == 0 else rng.randint(0, 720)
            purchases.add(
                conn,
                purchases.NewPurchase(
                    contact_id=contact_id,
                    amount_minor=price * quantity,
                    currency="USD" if index % 7 == 3 else "EUR",
                    purchased_on=today - timedelta(days=days_ago),
                    product=product,
                    quantity=quantity,
                    order_ref=f"SO-{1000 + index * 20 + _}",
                ),
                now=now,
            )
    segments.save(conn, "big-spenders", "spent>2000EUR", now=now)
    segments.save(conn, "lapsed-vips", "segment:big-spenders last-purchase>90d", now=now)


SEEDERS.append(seed_purchases)


def seed_duplicate(
    conn: sqlite3.Connection, now: datetime, rng: random.Random, ids: list[int]
) -> None:
    """One person entered twice, for `crm dedupe` to find and `crm contact merge` to fix: Daniel
    Kim again as "Dan", from a phone's export, with his private email and his mobile written
    another way."""
    changes = ContactChanges(
        text={"first_name": "Dan", "last_name": "Kim", "company": "Bluefin Logistics"},
        add_emails=[Labeled("dan.kim@mail.example", "home")],
        add_phones=[Labeled("(206) 555-0143", "mobile")],
        add_tags=["trade-show-2026"],
    )
    ids.append(contacts.create(conn, changes, now=now))


SEEDERS.append(seed_duplicate)


def seed_after_sales(
    conn: sqlite3.Connection, now: datetime, rng: random.Random, ids: list[int]
) -> None:
    """After-sales rules in action (a deal won today has set its follow-ups), two customers who
    asked for no e-mail or no contact, and a campaign to the big spenders, ready to preview."""
    from datetime import timedelta

    from crmcli import campaigns, consent, deals, query, rules, templates
    from crmcli.deal_changes import NewDeal

    rules.add(
        conn, "deal-won", remind_when="+7d", remind_text="Check the delivery went well", now=now
    )
    rules.add(conn, "deal-won", remind_when="close+11mo", remind_text="Renewal talk", now=now)
    rules.add(conn, "purchase", cadence_days=90, now=now)
    deal_id = deals.add(
        conn,
        NewDeal(contact_id=ids[2], title="Spare parts, yearly supply", value_minor=240_000,
                currency="EUR"),
        now=now - timedelta(days=6),
    )  # fmt: skip
    deals.win(conn, deal_id, now=now)
    sql, params = query.contact_ids_sql(conn, "segment:big-spenders", today=now.date())
    members = [row[0] for row in conn.execute(f"{sql} ORDER BY c.id", params)]
    consent.record(conn, members[1], source="reply to a newsletter", now=now, email_optout=True)
    consent.record(conn, members[3], source="phone call", now=now, do_not_contact=True)
    templates.add(
        conn,
        "thank-you-offer",
        "A thank-you for {company}, {first_name}",
        "Dear {first_name},\n\nYou have been with us since {first_purchase_year}, and your "
        "**{favourite_product}** orders keep our workshop busy. As a thank-you, your next "
        "order ships free.\n\nBest wishes,\n{sender}\n\n"
        "No more offers? Reply, or write to {unsubscribe}\n",
        fmt="markdown",
        now=now,
    )
    campaigns.add(conn, "thank-you", segment="big-spenders", template="thank-you-offer", now=now)


SEEDERS.append(seed_after_sales)
