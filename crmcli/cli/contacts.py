"""``crm contact ...`` and ``crm search``."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmcli import contacts
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    ask,
    complete_contact,
    complete_tag,
    confirm,
    database,
    edit_text,
    interactive,
    kept_on_failure,
    now,
    parse_when_option,
    print_created,
)
from crmcli.cli._output import Column, OutputFormat, console, emit, emit_record, line, message
from crmcli.cli._query import QUERY_CONTEXT, QueryArg, compile_words, query_text
from crmcli.cli.consent import ConsentSourceOpt, DoNotContactOpt, EmailOptoutOpt
from crmcli.cli.contact_options import (
    AddressOpt,
    DepartmentOpt,
    GeoOpt,
    ImOpt,
    MiddleOpt,
    More,
    NicknameOpt,
    PhotoOpt,
    PrefixOpt,
    RelatedOpt,
    RoleOpt,
    SocialOpt,
    SuffixOpt,
    TzOpt,
    UrlOpt,
    apply_more,
    remove_items,
    text_changes,
)
from crmcli.cli.contact_options import clear as clear_field
from crmcli.cli.privacy import export_data_command, forget_command
from crmcli.contacts import ListFilters, parse_labeled
from crmcli.errors import CrmError, UsageError

if TYPE_CHECKING:  # imported by add and edit only: show and list never build the class
    from crmcli.contact_changes import ContactChanges

app = CrmTyper(help="Add, show, change, find and remove contacts.")

LIST_COLUMNS = [
    Column("id", "ID", priority=1),
    Column("name", priority=1),
    Column("company", priority=3),
    Column("title", in_table=False),
    Column("email"),
    Column("phone", priority=3),
    Column("tags", priority=4),
    Column("created_at", in_table=False),
    Column("updated_at", in_table=False),
]

Ref = Annotated[
    str,
    typer.Argument(
        help="Contact id, or a unique fragment of a name or email.", autocompletion=complete_contact
    ),
]
Emails = Annotated[
    list[str] | None,
    typer.Option(
        "--email", "-e", help="Email, optionally labelled: work:ann@example.com. Repeatable."
    ),
]
Phones = Annotated[
    list[str] | None,
    typer.Option(
        "--phone", "-p", help="Phone, optionally labelled: 'mobile:+1 555 0100'. Repeatable."
    ),
]
Tags = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="Tag. Repeatable.", autocompletion=complete_tag),
]
Fields = Annotated[
    list[str] | None, typer.Option("--field", help="Custom field key=value. Repeatable.")
]
Text = Annotated[str | None, typer.Option(show_default=False)]


def _common_changes(
    conn: Any,
    changes: ContactChanges,
    *,
    fields: list[str] | None,
    birthday: str | None,
    anniversary: str | None,
    referred_by: str | None,
    cadence: str | None,
) -> None:
    from crmcli.dates import parse_days

    for assignment in fields or []:
        key, value = contacts.parse_field_assignment(assignment)
        changes.set_fields[key] = value
    if birthday is not None:
        changes.dates["birthday"] = birthday or None
    if anniversary is not None:
        changes.dates["anniversary"] = anniversary or None
    if referred_by is not None:
        if referred_by:
            changes.referred_by_id = contacts.resolve(conn, referred_by)
        else:
            changes.clear_referred_by = True
    if cadence is not None:
        if cadence:
            changes.cadence_days = parse_days(cadence)
        else:
            changes.clear_cadence = True


def _print_contact(conn: Any, contact_id: int, fmt: OutputFormat | None) -> None:
    record = contact_record(conn, contact_id)
    emit_record(record, fmt, render=render_contact)


def contact_record(conn: Any, contact_id: int) -> dict[str, Any]:
    """The contact as JSON-ready data, with what the other capabilities know of it."""
    from crmcli import anniversaries, consent, deals, notes, profile, reminders

    record = contacts.get(conn, contact_id).to_dict()
    asked = consent.of(conn, contact_id)
    record["consent"] = asked.to_dict() if asked else consent.NOTHING
    record["dates"] = anniversaries.dates_of(conn, contact_id)
    record["reminders"] = [r.to_dict() for r in reminders.open_for_contact(conn, contact_id)]
    record["notes"] = [n.to_dict() for n in notes.recent(conn, contact_id, limit=5)]
    record["deals"] = deals.contact_deals(conn, contact_id)
    record["customer"] = profile.customer_profile(conn, contact_id, today=now().date())
    record["referred"] = profile.referred(conn, contact_id)
    return record


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(help="Full name: 'Ann Lee' sets first name Ann, last name Lee."),
    ] = None,
    first: Text = None,
    last: Text = None,
    display: Annotated[
        str | None, typer.Option(help="Name shown instead of first + last (e.g. a team).")
    ] = None,
    email: Emails = None,
    phone: Phones = None,
    company: Text = None,
    title: Annotated[str | None, typer.Option(help="Job title.")] = None,
    street: Text = None,
    city: Text = None,
    region: Text = None,
    postal_code: Text = None,
    country: Text = None,
    website: Text = None,
    middle: MiddleOpt = None,
    prefix: PrefixOpt = None,
    suffix: SuffixOpt = None,
    nickname: NicknameOpt = None,
    department: DepartmentOpt = None,
    role: RoleOpt = None,
    tz: TzOpt = None,
    geo: GeoOpt = None,
    address: AddressOpt = None,
    url: UrlOpt = None,
    im: ImOpt = None,
    social: SocialOpt = None,
    related: RelatedOpt = None,
    photo: PhotoOpt = None,
    tag: Tags = None,
    source: Annotated[str | None, typer.Option(help="Where the contact came from.")] = None,
    referred_by: Annotated[
        str | None,
        typer.Option(
            help="The contact who referred this one (REF).", autocompletion=complete_contact
        ),
    ] = None,
    birthday: Annotated[
        str | None, typer.Option(help="1980-04-15, or --04-15 without a year.")
    ] = None,
    anniversary: Annotated[str | None, typer.Option(help="Like --birthday.")] = None,
    field: Fields = None,
    cadence: Annotated[
        str | None, typer.Option(help="Keep in touch at least this often: 30d, 2w.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Add it even if another contact has the same email.")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Add a contact.

    Give a name (or --first/--last, or --display), and any of the other fields.
    Emails, phones, addresses and URLs take an optional label: --email work:ann@example.com,
    --address 'work:1 Main St; Springfield; IL; 62701; USA'. An email that another contact already has is refused (it is the same person: change that
    contact instead), unless you confirm on a terminal or give --force. A contact that may be
    another one (same phone and name, same name and company...) is added with a warning naming
    the other (docs/identity.md).

    Example: crm contact add "Ann Lee" --company Acme -e ann@acme.com -p 'mobile:+1 555 0100' -t lead
    """
    from crmcli.contact_changes import ContactChanges

    if name and not (first or last):
        parts = name.split(None, 1)
        first, last = parts[0], (parts[1] if len(parts) > 1 else None)
    changes = ContactChanges(
        text=text_changes(first_name=first, last_name=last, display_name=display,
                          company=company, title=title, source=source),
        add_emails=[parse_labeled(e) for e in email or []],
        add_phones=[parse_labeled(p) for p in phone or []],
        add_tags=list(tag or []),
        address_parts=text_changes(street=street, city=city, region=region,
                                   postal_code=postal_code, country=country),
        website=website,
    )  # fmt: skip
    apply_more(changes, More(middle, prefix, suffix, nickname, department, role, tz, geo,
                             address, url, im, social, related, photo))  # fmt: skip
    with database(ctx, write=True) as conn:
        _common_changes(
            conn,
            changes,
            fields=field,
            birthday=birthday,
            anniversary=anniversary,
            referred_by=referred_by,
            cadence=cadence,
        )
        contacts.validate_changes(changes, today=now().date())
        matches = contacts.duplicates_of(conn, changes)
        confirmed = _refuse_same_email(changes, matches, force=force)
        contact_id = contacts.create(conn, changes, now=now())
        contact = contacts.get(conn, contact_id)
        message(f"Added contact {contact_id}: {contact.name}")
        print_created(contact_id, fmt)
        _warn_duplicate(matches, confirmed, contact_id)
        if fmt is not None:
            _print_contact(conn, contact_id, fmt)


def _warn_duplicate(matches: list[Any], confirmed: int | None, contact_id: int) -> None:
    """Added all the same (namesakes exist), but a possible second copy is worth a word."""
    for match in matches:
        if match.contact_id != confirmed:
            message(
                f"Warning: contact {match.contact_id} ({match.name}) may be the same person "
                f"({', '.join(match.verdict.reasons)}); compare: crm contact show "
                f"{match.contact_id}; merge: crm contact merge {match.contact_id} {contact_id}"
            )
            return


def _refuse_same_email(changes: ContactChanges, matches: list[Any], *, force: bool) -> int | None:
    """An email that another contact has means the same person: ask on a terminal, else refuse
    unless --force. Returns the id of the contact the user chose to add a twin of."""
    from crmcli.identity import EMAIL, exact

    twin = next((m for m in matches if m.verdict.level == EMAIL), None)
    if twin is None:
        return None
    email = next(e.value for e in changes.add_emails if exact(e.value) in twin.profile.emails)
    if force:
        return int(twin.contact_id)
    question = f"Contact {twin.contact_id} ({twin.name}) already has the email {email}"
    if not sys.stdin.isatty():
        raise CrmError(
            f"{question[0].lower()}{question[1:]}; nothing was added. Change that contact "
            f"(crm contact edit {twin.contact_id}), or add this one anyway with --force"
        )
    from crmcli.controls import visible

    # the question names a contact and an email: data, shown escaped
    if not ask(visible(f"{question}. Add another contact with it anyway?")):
        raise CrmError(f"cancelled; nothing was added (change contact {twin.contact_id} instead)")
    return int(twin.contact_id)


@app.command("show")
def show(ctx: typer.Context, ref: Ref, fmt: FormatOpt = None) -> None:
    """Show everything about one contact."""
    with database(ctx) as conn:
        _print_contact(conn, contacts.resolve(conn, ref), fmt)


def render_contact(record: dict[str, Any]) -> None:
    """The terminal view of one contact (``crm contact show``)."""
    from rich.table import Table

    from crmcli.cli.contact_view import detail_rows

    out = console()
    out.print(line((record["name"], "bold"), "  ", (f"#{record['id']}", "dim")))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", justify="right")
    grid.add_column()

    for label, value in detail_rows(record):
        grid.add_row(line(label), line(value))
    out.print(grid)
    for renderer in SHOW_SECTIONS:
        renderer(out, record)


#: extra parts of the terminal view, added by other capabilities (notes, reminders, deals...)
SHOW_SECTIONS: list[Any] = []


def _reminders_section(out: Any, record: dict[str, Any]) -> None:
    from crmcli.cli.reminders import render_show_reminders

    render_show_reminders(out, record)


def _notes_section(out: Any, record: dict[str, Any]) -> None:
    from crmcli.cli.notes import render_show_notes

    render_show_notes(out, record)


def _deals_section(out: Any, record: dict[str, Any]) -> None:
    from crmcli.cli.deals import contact_deals_section

    contact_deals_section(out, record)


def _customer_section(out: Any, record: dict[str, Any]) -> None:
    from crmcli.cli.customers import contact_customer_section

    contact_customer_section(out, record)


def _consent_section(out: Any, record: dict[str, Any]) -> None:
    from crmcli.cli.consent import consent_section

    consent_section(out, record)


# Imported only when a contact is shown on a terminal: what they asked for, what to do next,
# then what happened.
SHOW_SECTIONS.extend(
    [_consent_section, _reminders_section, _notes_section, _deals_section, _customer_section]
)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: Ref,
    first: Text = None,
    last: Text = None,
    display: Text = None,
    email: Emails = None,
    rm_email: Annotated[list[str] | None, typer.Option(help="Remove this email.")] = None,
    phone: Phones = None,
    rm_phone: Annotated[
        list[str] | None, typer.Option(help="Remove this phone (formatting ignored).")
    ] = None,
    company: Text = None,
    title: Text = None,
    street: Text = None,
    city: Text = None,
    region: Text = None,
    postal_code: Text = None,
    country: Text = None,
    website: Text = None,
    source: Text = None,
    middle: MiddleOpt = None,
    prefix: PrefixOpt = None,
    suffix: SuffixOpt = None,
    nickname: NicknameOpt = None,
    department: DepartmentOpt = None,
    role: RoleOpt = None,
    tz: TzOpt = None,
    geo: GeoOpt = None,
    address: AddressOpt = None,
    rm_address: Annotated[
        list[str] | None, typer.Option(help="Remove this address (as shown, or its street).")
    ] = None,
    url: UrlOpt = None,
    rm_url: Annotated[list[str] | None, typer.Option(help="Remove this web address.")] = None,
    im: ImOpt = None,
    social: SocialOpt = None,
    rm_handle: Annotated[
        list[str] | None, typer.Option(help="Remove this messaging handle or social profile.")
    ] = None,
    related: RelatedOpt = None,
    rm_related: Annotated[
        list[str] | None, typer.Option(help="Remove this related person.")
    ] = None,
    photo: PhotoOpt = None,
    tag: Tags = None,
    untag: Annotated[
        list[str] | None, typer.Option(help="Remove this tag.", autocompletion=complete_tag)
    ] = None,
    referred_by: Annotated[
        str | None,
        typer.Option(help="REF of the referrer; '' clears.", autocompletion=complete_contact),
    ] = None,
    birthday: Annotated[str | None, typer.Option(help="1980-04-15 or --04-15; '' clears.")] = None,
    anniversary: Annotated[str | None, typer.Option(help="Like --birthday.")] = None,
    field: Fields = None,
    cadence: Annotated[
        str | None, typer.Option(help="Keep-in-touch cadence: 30d; '' clears.")
    ] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            help="Clear a field: company, birthday, emails, addresses, photo, invalid, a custom "
            "field..."
        ),
    ] = None,
    editor: Annotated[
        bool, typer.Option("--editor", help="Edit in $EDITOR even when not on a terminal.")
    ] = False,
    do_not_contact: DoNotContactOpt = None,
    email_optout: EmailOptoutOpt = None,
    consent_source: ConsentSourceOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Change a contact: set, change or clear fields; add or remove emails, phones, tags.

    With no options on a terminal, opens the contact in $VISUAL/$EDITOR as a text form and
    saves what you changed (after checking it). An empty value clears a field: --company "".

    Example: crm contact edit ann --title CTO --tag customer --untag lead --rm-email old@acme.com
    """
    from crmcli.contact_changes import ContactChanges

    changes = ContactChanges(
        text=text_changes(first_name=first, last_name=last, display_name=display,
                          company=company, title=title, source=source),
        add_emails=[parse_labeled(e) for e in email or []],
        remove_emails=list(rm_email or []),
        add_phones=[parse_labeled(p) for p in phone or []],
        remove_phones=list(rm_phone or []),
        add_tags=list(tag or []),
        remove_tags=list(untag or []),
        address_parts=text_changes(street=street, city=city, region=region,
                                   postal_code=postal_code, country=country),
        website=website,
    )  # fmt: skip
    apply_more(changes, More(middle, prefix, suffix, nickname, department, role, tz, geo,
                             address, url, im, social, related, photo))  # fmt: skip
    remove_items(changes, addresses=rm_address, urls=rm_url, handles=rm_handle,
                 related=rm_related)  # fmt: skip
    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref)
        _common_changes(
            conn,
            changes,
            fields=field,
            birthday=birthday,
            anniversary=anniversary,
            referred_by=referred_by,
            cadence=cadence,
        )
        for name in clear or []:
            clear_field(changes, name)
        asked = do_not_contact is not None or email_optout is not None
        if changes.is_empty() and not asked:
            if not (editor or interactive()):
                raise UsageError(
                    "nothing to change: give options (see crm contact edit --help), "
                    "or use --editor to edit the contact in $EDITOR"
                )
            if not _edit_in_editor(conn, contact_id):
                message("No changes.")
                return
        else:
            from crmcli import consent

            consent.update_contact(conn, contact_id, changes, now=now(),
                                   do_not_contact=do_not_contact, email_optout=email_optout,
                                   source=consent_source or "crm contact edit")  # fmt: skip
        message(f"Updated contact {contact_id}: {contacts.get(conn, contact_id).name}")
        if fmt is not None:
            _print_contact(conn, contact_id, fmt)


def _edit_in_editor(conn: Any, contact_id: int) -> bool:
    """Edit the contact in $EDITOR and save what the user changed; False when nothing was.

    If the contact changed elsewhere while the editor was open, nothing is saved: the form
    reopens with both versions (what changed meanwhile, and the user's changes on top)."""
    from crmcli import contact_form

    base = contacts.get(conn, contact_id)
    text = contact_form.render(base)
    with kept_on_failure("contact") as draft:
        while True:
            text = draft.text = edit_text(text, what="contact")
            try:
                changes = contact_form.parse(conn, text, base, today=now().date())
                if changes.is_empty():
                    return False
                current = contact_form.save(conn, contact_id, base, changes, now=now())
            except CrmError as error:
                message(f"Error: {error.message}")
                if not interactive() or not ask("Edit again?", default=True):
                    error.message = f"{error.message}; nothing was saved"
                    raise
                continue
            if current is None:
                return True
            message(
                f"Contact {contact_id} was changed elsewhere while you were editing; nothing was "
                "saved yet. The form reopens with both versions."
            )
            text = contact_form.conflict_form(base, current, changes)
            base = current


@app.command("rm")
def remove(ctx: typer.Context, ref: Ref, yes: YesOpt = False) -> None:
    """Move a contact to the trash (crm contact restore brings it back)."""
    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref)
        name = contacts.get(conn, contact_id).name
        confirm(f"Move {name} (#{contact_id}) to the trash?", yes=yes)
        contacts.trash(conn, contact_id, now=now())
        message(
            f"Moved contact {contact_id} ({name}) to the trash; undo: crm contact restore {contact_id}"
        )


@app.command("restore")
def restore(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id, name or email of a contact in the trash.")],
) -> None:
    """Bring a contact back from the trash (one merged into another: undo that merge)."""
    from crmcli import merge

    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref, include_deleted=True)
        if merge.merged_into(conn, contact_id) is not None:
            from crmcli.cli.merge import report_unmerged

            report_unmerged(conn, merge.unmerge(conn, contact_id, now=now()))
            return
        contacts.restore(conn, contact_id)
        message(f"Restored contact {contact_id}: {contacts.get(conn, contact_id).name}")


# The filters of `crm contact list`, shared with `crm export contacts`.
TagFilter = Annotated[
    list[str] | None,
    typer.Option(
        "--tag", "-t", help="Has this tag (repeat: all of them).", autocompletion=complete_tag
    ),
]
CompanyFilter = Annotated[str | None, typer.Option(help="Company contains this text.")]
TextFilter = Annotated[
    str | None, typer.Option("--text", "-q", help="Matches this text anywhere (full-text).")
]
CreatedSince = Annotated[
    str | None, typer.Option(help="Added on or after: 2026-01-01, -2w, 'last mon'.")
]
UpdatedSince = Annotated[str | None, typer.Option(help="Changed on or after (same forms).")]
SortOpt = Annotated[
    str,
    typer.Option(help="name, company, created, updated, id or last-touch (never touched first)."),
]
NotTouchedSince = Annotated[
    str | None,
    typer.Option(
        help="No note, call, email or meeting since: 90d, 6m, or a date (2026-01-01, 'last mon').",
        show_default=False,
    ),
]
DescOpt = Annotated[bool, typer.Option("--desc", help="Reverse the order.")]
LimitOpt = Annotated[int | None, typer.Option(help="At most this many.", min=1)]


def list_filters(
    tag: list[str] | None,
    company: str | None,
    text: str | None,
    created_since: str | None,
    updated_since: str | None,
    sort: str,
    desc: bool,
    limit: int | None,
    *,
    trash: bool,
) -> ListFilters:
    """The options above as ListFilters (dates parsed by the one date parser)."""
    return ListFilters(
        tags=list(tag or []),
        company=company,
        text=text,
        created_since=parse_when_option(created_since) if created_since else None,
        updated_since=parse_when_option(updated_since) if updated_since else None,
        sort=sort,
        descending=desc,
        limit=limit,
        deleted=trash,
    )


def touched_threshold(text: str) -> datetime:
    """``--not-touched-since``: a span back from today (90d: local midnight 90 days ago) or a
    date expression; the contacts listed had no touch on or after that moment."""
    from datetime import timedelta

    from crmcli.dates import parse_days

    stripped = text.strip()
    if stripped[:1].isdigit() and stripped[-1:].isalpha() and not stripped[-2:].isdigit():
        try:
            days = parse_days(stripped)
        except UsageError:
            pass
        else:
            midnight = now().replace(hour=0, minute=0, second=0, microsecond=0)
            return midnight - timedelta(days=days)
    return parse_when_option(text)


def list_columns(filters: ListFilters) -> list[Column]:
    """The listing's columns: with the last touch when it is sorted or filtered by it, and in
    the trash, the contact each was merged into."""
    columns = LIST_COLUMNS
    if filters.with_touch():
        columns = [*columns, Column("last_touch_at", "Last touch", show=_day, priority=1)]
    if filters.deleted:
        columns = [*columns, Column("merged_into", "Merged into")]
    return columns


def _day(value: str | None) -> str:
    return value[:10] if value else "never"


@app.command("list", context_settings=QUERY_CONTEXT)
def list_(
    ctx: typer.Context,
    query: QueryArg = None,
    tag: TagFilter = None,
    company: CompanyFilter = None,
    text: TextFilter = None,
    created_since: CreatedSince = None,
    updated_since: UpdatedSince = None,
    sort: SortOpt = "name",
    desc: DescOpt = False,
    limit: LimitOpt = None,
    not_touched_since: NotTouchedSince = None,
    trash: Annotated[
        bool,
        typer.Option("--trash", help="List the contacts in the trash (and what they merged into)."),
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """List contacts, filtered by a query and options, and sorted.

    The QUERY selects contacts (docs/query.md): crm contact list tag:vip city:berlin
    'spent>5000EUR or rfm:champions' -tag:former. "Losing touch": --sort last-touch lists the
    longest untouched first, --not-touched-since 90d only those without a note, call, email or
    meeting in 90 days (with or without a keep-in-touch cadence).

    Examples: crm contact list tag:lead --sort updated --desc --limit 20 ;
    crm contact list --not-touched-since 90d --sort last-touch
    """
    filters = list_filters(
        tag, company, text, created_since, updated_since, sort, desc, limit, trash=trash
    )
    if not_touched_since:
        filters.not_touched_since = touched_threshold(not_touched_since)
    from crmcli.cli._output import resolve_format

    resolved = resolve_format(fmt)
    # TSV writes the query's rows as they are: no dictionary per contact (100,000 of them).
    tuples = resolved is OutputFormat.tsv
    with database(ctx) as conn:
        filters.query = compile_words(conn, query)
        emit(
            (contacts.list_rows if tuples else contacts.list_contacts)(conn, filters),
            list_columns(filters),
            resolved,
            empty="No contacts." if not trash else "The trash is empty.",
            tuples=tuples,
        )


class SearchFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"
    mutt = "mutt"


def _mutt(conn: Any, found: Any, text: str) -> None:
    """mutt's query_command format (also neomutt's and aerc's address-book-cmd): a line for
    the person, then ``email<TAB>name<TAB>company``, one line per address. A value from the
    database keeps to its cell: no tab, newline or other control character gets through."""
    from crmcli.controls import single_line
    from crmcli.search import mail_addresses

    rows = [
        "\t".join(" ".join(single_line(part).split()) for part in entry)
        for entry in mail_addresses(conn, found)
    ]
    shown = single_line(text)
    if not rows:
        print(f"crm: no address matches {shown!r}")
        raise typer.Exit(1)  # what mutt's query_command convention asks for
    print(f"crm: {len(rows)} address{'es' if len(rows) != 1 else ''} for {shown!r}")
    for row in rows:
        print(row)


def search_command(
    ctx: typer.Context,
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="TEXT...",
            help="Words (prefixes match), a phone number, or a query (docs/query.md).",
        ),
    ],
    limit: Annotated[int, typer.Option(help="At most this many.", min=1)] = 50,
    fmt: Annotated[
        SearchFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (mutt: for a mail client's address query). "
            "Default: table on a terminal, tsv when piped.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Find contacts by name, email, phone, company, title, tags, custom fields and notes.

    Every word must match (as a word prefix); best matches first. A phone number matches
    however it is formatted: "+1 (555) 010-2000" finds 5550102000. Terms of the query language
    narrow it down (docs/query.md): crm search robotics tag:vip -city:osaka. --format mutt
    answers a mail client's address query (mutt, neomutt, aerc: see docs/mail.md).
    """
    from crmcli.query import is_plain_text, parse
    from crmcli.search import count_listed, count_matches, phone_digits, search_contacts

    text = query_text(words) or ""
    with database(ctx) as conn:
        filters: ListFilters | None = None
        if phone_digits(text) or is_plain_text(parse(text)):
            rows: Any = search_contacts(conn, text, limit=limit)
        else:
            filters = ListFilters(query=compile_words(conn, words), limit=limit)
            rows = ({**row, "matched": "query"} for row in contacts.list_contacts(conn, filters))
        if fmt is SearchFormat.mutt:
            _mutt(conn, rows, text)
            return
        shown = emit(
            rows,
            [*LIST_COLUMNS[:7], Column("matched", in_table=False)],
            fmt.value if fmt else None,
            empty=f"Nothing matches {text!r}.",
        )
        if shown == limit:
            total = count_matches(conn, text) if filters is None else count_listed(conn, filters)
            if total > shown:
                sys.stdout.flush()
                message(
                    f"{total - shown:,} more of {total:,} matches not shown; "
                    f"see them with --limit {total}, or narrow the search"
                )
    sys.stdout.flush()


search_command.context_settings = QUERY_CONTEXT  # type: ignore[attr-defined]


# `crm contact merge`, `unmerge` and `issues` live in their own modules; importing them
# registers them here.
from crmcli.cli import contact_issues as _issue_commands  # noqa: E402, F401
from crmcli.cli import merge as _merge_commands  # noqa: E402, F401

app.command("export-data")(export_data_command)
app.command("forget")(forget_command)
