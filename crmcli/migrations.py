"""Numbered schema migrations, applied in order, each recorded by name.

Rules: add only; never edit, rename or reorder a migration once it has been released. The schema
version stored in ``PRAGMA user_version`` is the number of migrations applied, so opening an
up-to-date database costs one pragma read; the ``_crm_migrations`` table records which ran and when.

A migration receives a ``sqlite_utils.Database`` wrapping the open connection (already inside the
upgrade transaction), so it can use plain SQL or sqlite-utils' table API (``transform`` for changes
that SQLite's ALTER TABLE cannot make).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Migration = Callable[[Any], None]

MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration (its name is its identity)."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _sql(db: Any, *statements: str) -> None:
    # Statement by statement: executescript() would COMMIT the surrounding upgrade transaction.
    for statement in statements:
        db.execute(statement)


@migration
def m001_contacts(db: Any) -> None:
    _sql(
        db,
        """CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            first_name TEXT,
            last_name TEXT,
            display_name TEXT,
            company TEXT,
            title TEXT,
            street TEXT,
            city TEXT,
            region TEXT,
            postal_code TEXT,
            country TEXT,
            website TEXT,
            source TEXT,
            referred_by_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
            cadence_days INTEGER CHECK (cadence_days IS NULL OR cadence_days > 0),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT
        )""",
        "CREATE INDEX contacts_name ON contacts(name COLLATE NOCASE)",
        "CREATE INDEX contacts_company ON contacts(company COLLATE NOCASE)",
        "CREATE INDEX contacts_updated ON contacts(updated_at)",
        "CREATE INDEX contacts_created ON contacts(created_at)",
        """CREATE TABLE contact_emails (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            email TEXT NOT NULL,
            label TEXT,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_emails_contact ON contact_emails(contact_id, position)",
        "CREATE INDEX contact_emails_email ON contact_emails(email COLLATE NOCASE)",
        """CREATE TABLE contact_phones (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            phone TEXT NOT NULL,
            label TEXT,
            digits TEXT NOT NULL,
            -- reversed digits, indexed: "ends with" phone searches become prefix range scans
            digits_rev TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_phones_contact ON contact_phones(contact_id, position)",
        "CREATE INDEX contact_phones_digits ON contact_phones(digits)",
        "CREATE INDEX contact_phones_digits_rev ON contact_phones(digits_rev)",
        """CREATE TABLE tags (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE
        )""",
        """CREATE TABLE contact_tags (
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
            PRIMARY KEY (contact_id, tag_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX contact_tags_tag ON contact_tags(tag_id)",
        """CREATE TABLE contact_fields (
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            key TEXT NOT NULL COLLATE NOCASE,
            value TEXT NOT NULL,
            PRIMARY KEY (contact_id, key)
        ) WITHOUT ROWID""",
        """CREATE TABLE contact_dates (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('birthday', 'anniversary', 'other')),
            label TEXT NOT NULL,
            year INTEGER,
            month INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
            day INTEGER NOT NULL CHECK (day BETWEEN 1 AND 31),
            UNIQUE (contact_id, label COLLATE NOCASE)
        )""",
        "CREATE INDEX contact_dates_month_day ON contact_dates(month, day)",
        # One search document per contact (rowid = contact id), rebuilt by crmcli.search.
        """CREATE VIRTUAL TABLE contact_search USING fts5(
            name, emails, phones, company, title, tags, fields, notes,
            tokenize = "unicode61 remove_diacritics 2"
        )""",
    )


@migration
def m002_notes_reminders(db: Any) -> None:
    _sql(
        db,
        # A note is something that happened (`at`, UTC); `kind` is free text (call, email...).
        """CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL DEFAULT 'note',
            body TEXT NOT NULL,
            at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT
        )""",
        # History, per-contact listings and the cadence check's "last live note": with
        # deleted_at in the middle, max(at) of a contact's live notes is one index seek.
        "CREATE INDEX notes_contact_at ON notes(contact_id, deleted_at, at)",
        # `crm notes` across contacts, newest first, with --since/--until.
        "CREATE INDEX notes_at ON notes(at)",
        # The cadence check reads only the contacts that have a cadence (a covering index).
        "CREATE INDEX contacts_cadence ON contacts(cadence_days, deleted_at, created_at) "
        "WHERE cadence_days IS NOT NULL",
        # due_at is UTC; a reminder without a time of day (has_time = 0) is due at local midnight
        # of its day. A recurring one has an RRULE (`rule`) anchored at `rule_start` (UTC),
        # evaluated in local wall-clock time. Completing it records it as done and creates the
        # next occurrence, which points back at it through `previous_id` (UNIQUE: at most one).
        """CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
            body TEXT NOT NULL,
            due_at TEXT NOT NULL,
            has_time INTEGER NOT NULL DEFAULT 1 CHECK (has_time IN (0, 1)),
            rule TEXT,
            rule_start TEXT,
            previous_id INTEGER UNIQUE REFERENCES reminders(id) ON DELETE SET NULL,
            done_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT,
            CHECK ((rule IS NULL) = (rule_start IS NULL))
        )""",
        "CREATE INDEX reminders_open_due ON reminders(due_at) "
        "WHERE done_at IS NULL AND deleted_at IS NULL",
        "CREATE INDEX reminders_contact ON reminders(contact_id, due_at)",
    )


@migration
def m003_pipeline(db: Any) -> None:
    _sql(
        db,
        # The sales process. Open stages are ordered by position; won and lost are the two fixed
        # end states (kind), one of each, never removed.
        """CREATE TABLE stages (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            kind TEXT NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
            position INTEGER NOT NULL,
            probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
            stale_days INTEGER CHECK (stale_days IS NULL OR stale_days > 0)
        )""",
        "CREATE UNIQUE INDEX stages_one_won ON stages(kind) WHERE kind IN ('won', 'lost')",
        """INSERT INTO stages (name, kind, position, probability, stale_days) VALUES
            ('lead', 'open', 1, 10, 30),
            ('qualified', 'open', 2, 25, 21),
            ('proposal', 'open', 3, 50, 14),
            ('negotiation', 'open', 4, 75, 10),
            ('won', 'won', 1000, 100, NULL),
            ('lost', 'lost', 1001, 0, NULL)""",
        """CREATE TABLE deals (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            value_minor INTEGER NOT NULL CHECK (value_minor >= 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            stage_id INTEGER NOT NULL REFERENCES stages(id),
            -- a per-deal override of the stage's probability (percent), NULL = the stage's
            probability INTEGER CHECK (probability IS NULL OR probability BETWEEN 0 AND 100),
            expected_close TEXT,
            source TEXT,
            notes TEXT,
            lost_reason TEXT,
            stage_changed_at TEXT NOT NULL,
            closed_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT
        )""",
        "CREATE INDEX deals_stage ON deals(stage_id, deleted_at)",
        "CREATE INDEX deals_contact ON deals(contact_id)",
        "CREATE INDEX deals_close ON deals(expected_close)",
        "CREATE INDEX deals_closed_at ON deals(closed_at)",
        # Every stage change, with its time: the deal's history and the time spent per stage.
        # The stage names are kept as they were, so the history survives renames and removals.
        """CREATE TABLE deal_stage_changes (
            id INTEGER PRIMARY KEY,
            deal_id INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
            from_stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
            from_stage TEXT,
            to_stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
            to_stage TEXT NOT NULL,
            at TEXT NOT NULL,
            note TEXT
        )""",
        "CREATE INDEX deal_stage_changes_deal ON deal_stage_changes(deal_id, at)",
        "CREATE INDEX deal_stage_changes_at ON deal_stage_changes(at)",
        """CREATE TABLE goals (
            id INTEGER PRIMARY KEY,
            period TEXT NOT NULL,
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            created_at TEXT NOT NULL,
            UNIQUE (period, currency)
        )""",
    )


@migration
def m004_dates_greetings(db: Any) -> None:
    _sql(
        db,
        # Per-date lead time for the agenda (NULL: the default for its kind, see docs).
        "ALTER TABLE contact_dates ADD COLUMN lead_days INTEGER "
        "CHECK (lead_days IS NULL OR lead_days >= 0)",
        "CREATE INDEX contact_dates_contact ON contact_dates(contact_id)",
        """CREATE TABLE templates (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        # Which template goes with which yearly date (occasion = the date's label, any case),
        # how many days ahead, and to whom (an optional tag).
        """CREATE TABLE greeting_rules (
            id INTEGER PRIMARY KEY,
            occasion TEXT NOT NULL COLLATE NOCASE,
            template_id INTEGER NOT NULL REFERENCES templates(id) ON DELETE RESTRICT,
            days_before INTEGER NOT NULL DEFAULT 0 CHECK (days_before BETWEEN 0 AND 365),
            tag TEXT COLLATE NOCASE,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX greeting_rules_template ON greeting_rules(template_id)",
        # The send log: one row per (contact, occasion, occurrence year), ever. The UNIQUE
        # constraint is what makes a greeting go out once: a run claims the row before sending.
        """CREATE TABLE greetings (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            occasion TEXT NOT NULL,
            year INTEGER NOT NULL,
            occurs_on TEXT NOT NULL,
            rule_id INTEGER REFERENCES greeting_rules(id) ON DELETE SET NULL,
            template TEXT,
            to_email TEXT,
            subject TEXT,
            message_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'failed')),
            method TEXT CHECK (method IN ('smtp', 'outbox')),
            attempts INTEGER NOT NULL DEFAULT 0,
            claimed_at TEXT,
            claimed_by TEXT,
            sent_at TEXT,
            error TEXT,
            UNIQUE (contact_id, occasion, year)
        )""",
        "CREATE INDEX greetings_status ON greetings(status)",
        "CREATE INDEX greetings_sent_at ON greetings(sent_at)",
    )


@migration
def m005_import_export(db: Any) -> None:
    # Column mappings saved by `crm import --save-map NAME`, reused with --use-map NAME.
    _sql(
        db,
        """CREATE TABLE import_maps (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            mapping_json TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
    )


@migration
def m008_purchases(db: Any) -> None:
    _sql(
        db,
        # What a customer bought: one row per order line. `amount_minor` is the line's total
        # (not the unit price) in the currency's minor unit; `purchased_on` is a local date.
        # `import_key` identifies an order line across imports (see crmcli.purchases), so
        # importing the same orders twice adds nothing; `deal_id` links the purchase a won
        # deal became (at most one per deal).
        """CREATE TABLE purchases (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            purchased_on TEXT NOT NULL,
            product TEXT,
            quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity > 0),
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            order_ref TEXT,
            import_key TEXT,
            deal_id INTEGER REFERENCES deals(id) ON DELETE SET NULL,
            source TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'import', 'deal')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT
        )""",
        # A contact's purchases (profile, RFM, spent>...): covering, so the aggregates read
        # the index alone.
        "CREATE INDEX purchases_contact ON purchases(contact_id, deleted_at, purchased_on, "
        "currency, amount_minor)",
        "CREATE INDEX purchases_on ON purchases(purchased_on)",
        "CREATE INDEX purchases_product ON purchases(product COLLATE NOCASE)",
        "CREATE UNIQUE INDEX purchases_import_key ON purchases(import_key) "
        "WHERE import_key IS NOT NULL",
        "CREATE UNIQUE INDEX purchases_deal ON purchases(deal_id) WHERE deal_id IS NOT NULL",
        # Saved queries: `segment:NAME` inside any query.
        """CREATE TABLE segments (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            query TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        # The query language's terms, each an index seek or range: city:, referred-by:,
        # field:KEY=VALUE, and the last touch (a live note that is not an imported one).
        "CREATE INDEX contacts_city ON contacts(city COLLATE NOCASE)",
        "CREATE INDEX contacts_referred_by ON contacts(referred_by_id) "
        "WHERE referred_by_id IS NOT NULL",
        "CREATE INDEX contact_fields_key ON contact_fields(key, value COLLATE NOCASE)",
    )


# What counts as a touch (a contact's last_touch_at): a live note that neither an import brought
# (it carries the import's time) nor a campaign sent (a message to many is not keeping in touch
# with one).
_TOUCH_NOTE = "deleted_at IS NULL AND kind NOT IN ('imported', 'campaign')"


@migration
def m010_agenda_indexes(db: Any) -> None:
    _sql(
        db,
        # The agenda reads yearly dates by (month, day) ranges of contact_dates_month_day; the
        # few dates with a lead time of their own (up to a year) are read through this small
        # index instead of a scan of every date.
        "CREATE INDEX contact_dates_lead ON contact_dates(lead_days) WHERE lead_days IS NOT NULL",
        # A contact's last touch: the time of its newest live note that is not one an import
        # brought or a campaign sent (see _TOUCH_NOTE). Kept by
        # triggers whoever writes the notes (crm note, import, merge...), so "due a touch",
        # stale deals, `last-touch` queries and the customers view read a column instead of
        # looking up notes for every contact.
        "ALTER TABLE contacts ADD COLUMN last_touch_at TEXT",
        "UPDATE contacts SET last_touch_at = (SELECT max(at) FROM notes "
        f"WHERE contact_id = contacts.id AND {_TOUCH_NOTE})",
        """CREATE TRIGGER notes_last_touch_insert AFTER INSERT ON notes
        WHEN NEW.deleted_at IS NULL AND NEW.kind NOT IN ('imported', 'campaign') BEGIN
            UPDATE contacts SET last_touch_at = NEW.at
            WHERE id = NEW.contact_id AND (last_touch_at IS NULL OR last_touch_at < NEW.at);
        END""",
        f"""CREATE TRIGGER notes_last_touch_update AFTER UPDATE OF contact_id, at, deleted_at, kind
        ON notes BEGIN
            UPDATE contacts SET last_touch_at = (SELECT max(at) FROM notes
                WHERE contact_id = contacts.id AND {_TOUCH_NOTE})
            WHERE id IN (OLD.contact_id, NEW.contact_id);
        END""",
        f"""CREATE TRIGGER notes_last_touch_delete AFTER DELETE ON notes BEGIN
            UPDATE contacts SET last_touch_at = (SELECT max(at) FROM notes
                WHERE contact_id = contacts.id AND {_TOUCH_NOTE})
            WHERE id = OLD.contact_id;
        END""",
        # The few contacts in the trash: what the agenda leaves out, without a lookup per row.
        "CREATE INDEX contacts_trashed ON contacts(deleted_at) WHERE deleted_at IS NOT NULL",
        # Per cadence, the contacts in order of when they were last touched: the ones due are
        # a range, counted and cut in SQL.
        "CREATE INDEX contacts_touch ON contacts(cadence_days, coalesce(last_touch_at, "
        "created_at), id) WHERE cadence_days IS NOT NULL AND deleted_at IS NULL",
    )


# Removing a live purchase from its customer's totals (a trigger body): the count and the sum
# step down; the first and last dates are looked up again only when the purchase was one of
# them. The row goes when it was the customer's last purchase in that currency.
_TOTALS_REMOVE_OLD = """
DELETE FROM purchase_totals
WHERE contact_id = old.contact_id AND currency = old.currency AND purchases <= 1
  AND old.deleted_at IS NULL;
UPDATE purchase_totals SET
  purchases = purchases - 1,
  total_minor = total_minor - old.amount_minor,
  first_on = CASE WHEN first_on < old.purchased_on THEN first_on ELSE coalesce(
    (SELECT min(p.purchased_on) FROM purchases p WHERE p.contact_id = old.contact_id
     AND p.deleted_at IS NULL AND p.currency = old.currency), first_on) END,
  last_on = CASE WHEN last_on > old.purchased_on THEN last_on ELSE coalesce(
    (SELECT max(p.purchased_on) FROM purchases p WHERE p.contact_id = old.contact_id
     AND p.deleted_at IS NULL AND p.currency = old.currency), last_on) END
WHERE contact_id = old.contact_id AND currency = old.currency AND old.deleted_at IS NULL;
"""
# Adding a live purchase to its customer's totals (a trigger body).
_TOTALS_ADD_NEW = """
INSERT INTO purchase_totals (contact_id, currency, purchases, total_minor, first_on, last_on)
SELECT new.contact_id, new.currency, 1, new.amount_minor, new.purchased_on, new.purchased_on
WHERE new.deleted_at IS NULL
ON CONFLICT (contact_id, currency) DO UPDATE SET
  purchases = purchases + 1,
  total_minor = total_minor + excluded.total_minor,
  first_on = min(first_on, excluded.first_on),
  last_on = max(last_on, excluded.last_on);
"""


@migration
def m011_purchase_totals(db: Any) -> None:
    _sql(
        db,
        # Each customer's live purchases per currency, kept by the triggers below whatever
        # writes the purchases (add, edit, import, trash, restore, a won deal, a merge, a
        # deleted contact). RFM reads one row per customer and currency instead of grouping
        # every purchase on every run (crmcli.rfm; docs/performance-notes.md). Trashed
        # contacts keep their rows, as they keep their purchases; readers skip them.
        """CREATE TABLE purchase_totals (
            contact_id INTEGER NOT NULL,
            currency TEXT NOT NULL,
            purchases INTEGER NOT NULL,
            total_minor INTEGER NOT NULL,
            first_on TEXT NOT NULL,
            last_on TEXT NOT NULL,
            PRIMARY KEY (contact_id, currency)
        ) WITHOUT ROWID""",
        "INSERT INTO purchase_totals SELECT contact_id, currency, count(*), sum(amount_minor), "
        "min(purchased_on), max(purchased_on) FROM purchases WHERE deleted_at IS NULL "
        "GROUP BY contact_id, currency",
        f"""CREATE TRIGGER purchase_totals_insert AFTER INSERT ON purchases
        WHEN new.deleted_at IS NULL BEGIN {_TOTALS_ADD_NEW} END""",
        f"""CREATE TRIGGER purchase_totals_delete AFTER DELETE ON purchases
        WHEN old.deleted_at IS NULL BEGIN {_TOTALS_REMOVE_OLD} END""",
        f"""CREATE TRIGGER purchase_totals_update
        AFTER UPDATE OF contact_id, currency, amount_minor, purchased_on, deleted_at ON purchases
        WHEN old.deleted_at IS NULL OR new.deleted_at IS NULL
        BEGIN {_TOTALS_REMOVE_OLD} {_TOTALS_ADD_NEW} END""",
    )


@migration
def m009_note_message_id(db: Any) -> None:
    # `crm note --from-mail` keeps the message's Message-ID, so the same mail piped twice is
    # recorded once per contact (a partial index: typed notes have none).
    _sql(
        db,
        "ALTER TABLE notes ADD COLUMN message_id TEXT",
        "CREATE UNIQUE INDEX notes_message_id ON notes(contact_id, message_id) "
        "WHERE message_id IS NOT NULL",
    )


@migration
def m006_identity(db: Any) -> None:
    _sql(
        db,
        # Every UID an outside system knows a contact by (a vCard's UID, a synced address book's),
        # besides contacts.uid: a later import or sync with any of them finds the same contact.
        # One contact per UID; a merge moves the merged-away contact's UIDs to the one kept.
        """CREATE TABLE contact_uids (
            uid TEXT PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE
        ) WITHOUT ROWID""",
        "CREATE INDEX contact_uids_contact ON contact_uids(contact_id)",
        # One row per contact merged away (other_id, now in the trash) into keep_id, with what
        # to undo (undo_json: the kept contact's values before, rows added and rows re-pointed).
        # `batch` is the id of the first row written by the same `crm contact merge`; unmerging
        # the kept contact undoes its latest batch. Deleted when undone.
        """CREATE TABLE contact_merges (
            id INTEGER PRIMARY KEY,
            batch INTEGER NOT NULL,
            keep_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            other_id INTEGER NOT NULL UNIQUE REFERENCES contacts(id) ON DELETE CASCADE,
            merged_at TEXT NOT NULL,
            undo_json TEXT NOT NULL,
            CHECK (keep_id != other_id)
        )""",
        "CREATE INDEX contact_merges_keep ON contact_merges(keep_id, batch)",
        # Pairs `crm dedupe` no longer offers (the lower id first).
        """CREATE TABLE dedupe_dismissed (
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            other_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            dismissed_at TEXT NOT NULL,
            PRIMARY KEY (contact_id, other_id),
            CHECK (contact_id < other_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX dedupe_dismissed_other ON dedupe_dismissed(other_id)",
    )


@migration
def m012_sends_campaigns(db: Any) -> None:
    _sql(
        db,
        # A campaign: a template sent once to each contact a query finds (crmcli.campaigns).
        # The query is evaluated when sending, so a campaign sent in batches reaches who is
        # in it then. The template's text is copied in at the first send (`locked_at`), so
        # every recipient gets the same message even if the template changes meanwhile.
        # `forgotten`: recipients erased since (crm contact forget), a count and nothing more.
        """CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            query TEXT NOT NULL,
            template_id INTEGER NOT NULL REFERENCES templates(id) ON DELETE RESTRICT,
            subject TEXT,
            body TEXT,
            format TEXT CHECK (format IN ('text', 'markdown')),
            locked_at TEXT,
            forgotten INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX campaigns_template ON campaigns(template_id)",
        # A template's body is plain text, or Markdown (sent as text + HTML).
        "ALTER TABLE templates ADD COLUMN format TEXT NOT NULL DEFAULT 'text' "
        "CHECK (format IN ('text', 'markdown'))",
        # A greeting rule may greet contacts who opted out of e-mail campaigns (a birthday
        # is not a newsletter); never those marked do-not-contact.
        "ALTER TABLE greeting_rules ADD COLUMN to_opted_out INTEGER NOT NULL DEFAULT 0 "
        "CHECK (to_opted_out IN (0, 1))",
        # The send log of every message crmcli sends, greetings and campaigns alike: one row
        # per message, ever, claimed before sending (crmcli.sending). The two UNIQUE indexes
        # are what make each message go out once: a greeting per (contact, occasion, year of
        # the occasion), a campaign message per (campaign, contact). `token` identifies the
        # recipient of a campaign message in an unsubscribe request (List-Unsubscribe).
        """CREATE TABLE sends (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('greeting', 'campaign')),
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            campaign_id INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
            occasion TEXT,
            year INTEGER,
            occurs_on TEXT,
            rule_id INTEGER REFERENCES greeting_rules(id) ON DELETE SET NULL,
            template TEXT,
            to_email TEXT,
            subject TEXT,
            message_id TEXT NOT NULL,
            token TEXT UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'failed')),
            method TEXT CHECK (method IN ('smtp', 'outbox')),
            attempts INTEGER NOT NULL DEFAULT 0,
            claimed_at TEXT,
            claimed_by TEXT,
            sent_at TEXT,
            error TEXT,
            CHECK ((kind = 'campaign') = (campaign_id IS NOT NULL)),
            CHECK ((kind = 'greeting') = (occasion IS NOT NULL AND year IS NOT NULL))
        )""",
        "CREATE UNIQUE INDEX sends_greeting ON sends(contact_id, occasion, year) "
        "WHERE kind = 'greeting'",
        "CREATE UNIQUE INDEX sends_campaign ON sends(campaign_id, contact_id) "
        "WHERE kind = 'campaign'",
        "CREATE INDEX sends_contact ON sends(contact_id)",
        "CREATE INDEX sends_status ON sends(status)",
        "CREATE INDEX sends_sent_at ON sends(sent_at)",
        # The greetings log moves in whole, ids kept (outbox files are named by them).
        """INSERT INTO sends (id, kind, contact_id, occasion, year, occurs_on, rule_id, template,
            to_email, subject, message_id, status, method, attempts, claimed_at, claimed_by,
            sent_at, error)
        SELECT id, 'greeting', contact_id, occasion, year, occurs_on, rule_id, template,
            to_email, subject, message_id, status, method, attempts, claimed_at, claimed_by,
            sent_at, error FROM greetings""",
        "DROP TABLE greetings",
    )


@migration
def m013_consent(db: Any) -> None:
    _sql(
        db,
        # What a person asked for: not to be contacted at all, or no more e-mail campaigns;
        # each with when and where the request came from. A row only for contacts that asked.
        """CREATE TABLE contact_consent (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
            do_not_contact_at TEXT,
            do_not_contact_source TEXT,
            email_optout_at TEXT,
            email_optout_source TEXT,
            CHECK ((do_not_contact_at IS NULL) = (do_not_contact_source IS NULL)),
            CHECK ((email_optout_at IS NULL) = (email_optout_source IS NULL))
        )""",
        # People erased for good (crm contact forget): when, and nothing else.
        "CREATE TABLE erasures (id INTEGER PRIMARY KEY, erased_at TEXT NOT NULL)",
    )


@migration
def m014_rules(db: Any) -> None:
    _sql(
        db,
        # Follow-ups that set themselves: on an event (crmcli.events), a reminder, a tag, a
        # keep-in-touch cadence. `stage` narrows deal-stage to one stage (stage:NAME).
        """CREATE TABLE rules (
            id INTEGER PRIMARY KEY,
            event TEXT NOT NULL,
            stage TEXT COLLATE NOCASE,
            remind_when TEXT,
            remind_text TEXT,
            tag TEXT,
            cadence_days INTEGER CHECK (cadence_days IS NULL OR cadence_days > 0),
            created_at TEXT NOT NULL,
            CHECK ((remind_when IS NULL) = (remind_text IS NULL)),
            CHECK (remind_when IS NOT NULL OR tag IS NOT NULL OR cadence_days IS NOT NULL)
        )""",
        # Each rule fires once per event's subject ("deal 12", "contact 5", "purchase 9"):
        # the primary key is what makes a second firing a no-op.
        """CREATE TABLE rule_firings (
            rule_id INTEGER NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
            subject TEXT NOT NULL,
            contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
            fired_at TEXT NOT NULL,
            PRIMARY KEY (rule_id, subject)
        ) WITHOUT ROWID""",
        "CREATE INDEX rule_firings_contact ON rule_firings(contact_id)",
        # What set a reminder, when it was not a person: "rule 3 (on deal-won, deal 12)".
        "ALTER TABLE reminders ADD COLUMN origin TEXT",
    )


# The search document of a contact as m015 left it (crmcli.search keeps the live copy): the
# name parts, addresses, links and related people are searched with the custom fields.
_M015_DOCUMENT = """
SELECT c.id, c.name,
  coalesce((SELECT group_concat(email, ' ') FROM contact_emails WHERE contact_id = c.id), ''),
  coalesce((SELECT group_concat(digits, ' ') FROM contact_phones WHERE contact_id = c.id), ''),
  coalesce(c.company, ''),
  coalesce(c.title, ''),
  coalesce((SELECT group_concat(t.name, ' ') FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id
            WHERE ct.contact_id = c.id), ''),
  coalesce(c.nickname || ' ', '') || coalesce(c.middle_name || ' ', '')
    || coalesce(c.department || ' ', '') || coalesce(c.role || ' ', '')
    || coalesce((SELECT group_concat(key || ' ' || value, ' ') FROM contact_fields
                 WHERE contact_id = c.id) || ' ', '')
    || coalesce((SELECT group_concat(coalesce(street, '') || ' ' || coalesce(city, '') || ' '
                 || coalesce(region, '') || ' ' || coalesce(postal_code, '') || ' '
                 || coalesce(country, ''), ' ') FROM contact_addresses
                 WHERE contact_id = c.id) || ' ', '')
    || coalesce((SELECT group_concat(handle, ' ') FROM contact_handles
                 WHERE contact_id = c.id) || ' ', '')
    || coalesce((SELECT group_concat(name, ' ') FROM contact_related
                 WHERE contact_id = c.id), ''),
  coalesce((SELECT group_concat(body, ' ') FROM notes
            WHERE contact_id = c.id AND deleted_at IS NULL), '')
FROM contacts c
"""


@migration
def m015_lossless_contacts(db: Any) -> None:
    _sql(
        db,
        # The parts of a name a vCard's N, NICKNAME and ORG hold, and what else a card says
        # about the person in one value (crmcli.contacts.TEXT_FIELDS).
        *(
            f"ALTER TABLE contacts ADD COLUMN {column} TEXT"
            for column in (
                "middle_name",
                "name_prefix",
                "name_suffix",
                "nickname",
                "department",
                "role",
                "time_zone",
                "geo",
            )
        ),
        # Any number of labelled postal addresses, in order (the first is the main one). The
        # parts of a vCard ADR; `street` may hold several lines. city, region and country
        # compare without case (the query language's city: is an index range).
        """CREATE TABLE contact_addresses (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            label TEXT,
            street TEXT,
            city TEXT COLLATE NOCASE,
            region TEXT COLLATE NOCASE,
            postal_code TEXT,
            country TEXT COLLATE NOCASE,
            po_box TEXT,
            extended TEXT,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_addresses_contact ON contact_addresses(contact_id, position)",
        "CREATE INDEX contact_addresses_city ON contact_addresses(city)",
        """CREATE TABLE contact_urls (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            label TEXT,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_urls_contact ON contact_urls(contact_id, position)",
        # Instant messaging (vCard IMPP: kind 'im') and social profiles (X-SOCIALPROFILE:
        # 'social'): the service (skype, xmpp, twitter...) and the handle as given.
        """CREATE TABLE contact_handles (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('im', 'social')),
            service TEXT,
            handle TEXT NOT NULL,
            label TEXT,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_handles_contact ON contact_handles(contact_id, position)",
        # Related people (vCard RELATED, Apple's X-ABRELATEDNAMES): the name (or URI) as given,
        # the relation, and the contact it is when one matched (kept if they are renamed).
        """CREATE TABLE contact_related (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            label TEXT,
            related_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_related_contact ON contact_related(contact_id, position)",
        "CREATE INDEX contact_related_related ON contact_related(related_id) "
        "WHERE related_id IS NOT NULL",
        # One photo per contact: its bytes and media type, or where it is (a URI).
        """CREATE TABLE contact_photos (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
            media_type TEXT,
            data BLOB,
            uri TEXT,
            CHECK ((data IS NULL) != (uri IS NULL))
        )""",
        # Values a file brought that crmcli could not take as what they claim to be (an email
        # without @, a phone "BusinessPhone", a birthday "circa 1800"): kept as they came,
        # with why, until someone fixes them (crm contact issues).
        """CREATE TABLE contact_invalid (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            field TEXT NOT NULL,
            label TEXT,
            value TEXT NOT NULL,
            reason TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_invalid_contact ON contact_invalid(contact_id, position)",
        "CREATE INDEX contact_invalid_field ON contact_invalid(field)",
        # Every vCard property crmcli does not read into a field, verbatim (group, name, the
        # parameters as written, the value as written), so it goes back out on vCard export.
        """CREATE TABLE contact_vcard_properties (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            grp TEXT,
            name TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '',
            value TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX contact_vcard_properties_contact ON contact_vcard_properties("
        "contact_id, position)",
        # The one address and website a contact had move into the lists; the old columns stay
        # (SQLite before 3.35 cannot drop a column, and a table rebuild would cascade into every
        # table that refers to a contact), always NULL from now on.
        """INSERT INTO contact_addresses (contact_id, street, city, region, postal_code, country)
        SELECT id, street, city, region, postal_code, country FROM contacts
        WHERE coalesce(street, city, region, postal_code, country) IS NOT NULL""",
        "INSERT INTO contact_urls (contact_id, url) SELECT id, website FROM contacts "
        "WHERE website IS NOT NULL",
        "UPDATE contacts SET street = NULL, city = NULL, region = NULL, postal_code = NULL, "
        "country = NULL, website = NULL WHERE coalesce(street, city, region, postal_code, "
        "country, website) IS NOT NULL",
        "DROP INDEX contacts_city",
        # What earlier imports kept as custom fields for want of a place: into their fields.
        *(
            f"""UPDATE contacts SET {column} = (SELECT value FROM contact_fields f
                WHERE f.contact_id = contacts.id AND f.key = '{key}')
            WHERE id IN (SELECT contact_id FROM contact_fields WHERE key = '{key}')"""
            for column, key in (
                ("middle_name", "middle name"),
                ("nickname", "nickname"),
                ("department", "department"),
            )
        ),
        """INSERT INTO contact_related (contact_id, name, label)
        SELECT contact_id, value, 'spouse' FROM contact_fields WHERE key = 'spouse'""",
        "DELETE FROM contact_fields WHERE key IN ('middle name', 'nickname', 'department', "
        "'spouse')",
        "DELETE FROM contact_search",
        "INSERT INTO contact_search(rowid, name, emails, phones, company, title, tags, fields, "
        f"notes) {_M015_DOCUMENT}",
    )


@migration
def m017_sync(db: Any) -> None:
    _sql(
        db,
        # The folders crm sync keeps in step with the database (crmcli.sync): one contacts vdir
        # and one calendar vdir at most; when the last sync ended, and what it did (JSON).
        """CREATE TABLE sync_collections (
            kind TEXT PRIMARY KEY CHECK (kind IN ('contacts', 'calendar')),
            path TEXT NOT NULL,
            last_sync_at TEXT,
            last_result_json TEXT
        ) WITHOUT ROWID""",
        # One row per item file as it was at the last sync: which record it is (a contact; a
        # calendar item: a contact's yearly date or a reminder), crmcli's side then (a signature
        # of the record and the card crmcli wrote for it) and the file's (its state, the hash
        # and the text of its content). The two texts are the bases of the three-way merge
        # when both sides changed. A row with no contact is an erased person's file, to remove.
        """CREATE TABLE sync_items (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('contacts', 'calendar')),
            href TEXT NOT NULL,
            uid TEXT NOT NULL,
            contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
            reminder_id INTEGER REFERENCES reminders(id) ON DELETE SET NULL,
            local_sig TEXT,
            local_card TEXT,
            remote_state TEXT,
            remote_hash TEXT,
            remote_card TEXT,
            synced_at TEXT NOT NULL,
            UNIQUE (kind, href)
        )""",
        "CREATE INDEX sync_items_contact ON sync_items(contact_id)",
        "CREATE INDEX sync_items_reminder ON sync_items(reminder_id)",
        # Both sides changed the same field differently: the two versions, kept. An open one
        # (resolved_at NULL) waits for crm sync --resolve; a resolved one keeps what lost.
        """CREATE TABLE sync_conflicts (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('contacts', 'calendar')),
            href TEXT NOT NULL,
            contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
            fields TEXT NOT NULL,
            local TEXT,
            remote TEXT,
            lost TEXT,
            detected_at TEXT NOT NULL,
            resolved_at TEXT,
            resolution TEXT CHECK (resolution IN ('local', 'remote', 'merged', 'gone')),
            CHECK ((resolved_at IS NULL) = (resolution IS NULL))
        )""",
        "CREATE INDEX sync_conflicts_contact ON sync_conflicts(contact_id)",
        "CREATE UNIQUE INDEX sync_conflicts_open ON sync_conflicts(kind, href) "
        "WHERE resolved_at IS NULL",
    )


@migration
def m018_reminders_open_covering(db: Any) -> None:
    _sql(
        db,
        # The agenda counts the open reminders of each section (overdue, today, coming) on
        # every run: with whether each has a time and whose it is in the index, the count reads
        # the index alone instead of every counted reminder's row (109 -> 29 ms for the 68,000
        # open reminders of a million-contact book). Same name, same leading column: the
        # range scans by due time are unchanged.
        "DROP INDEX reminders_open_due",
        "CREATE INDEX reminders_open_due ON reminders(due_at, has_time, contact_id) "
        "WHERE done_at IS NULL AND deleted_at IS NULL",
    )
