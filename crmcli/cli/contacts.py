"""``crm contact ...`` and ``crm search``."""

from __future__ import annotations

import sys
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
    confirm,
    database,
    edit_text,
    interactive,
    kept_on_failure,
    now,
    print_created,
)
from crmcli.cli._contact_options import (
    Anniversary,
    Birthday,
    Cadence,
    Clear,
    CompanyFilter,
    ConsentSourceOpt,
    CreatedSince,
    DescOpt,
    Display,
    DoNotContactOpt,
    EmailOptoutOpt,
    Emails,
    Fields,
    LimitOpt,
    NotTouchedSince,
    Phones,
    ReferredBy,
    RmEmails,
    RmPhones,
    SortOpt,
    Source,
    TagFilter,
    Tags,
    Text,
    TextFilter,
    Title,
    Untag,
    UpdatedSince,
    contact_changes,
    list_filters,
    touched_threshold,
)
from crmcli.cli._contact_parts import (
    AddressOpt,
    DepartmentOpt,
    GeoOpt,
    ImOpt,
    MiddleOpt,
    NicknameOpt,
    PhotoOpt,
    PrefixOpt,
    RelatedOpt,
    RmAddressOpt,
    RmHandleOpt,
    RmRelatedOpt,
    RmUrlOpt,
    RoleOpt,
    SocialOpt,
    SuffixOpt,
    TzOpt,
    UrlOpt,
)
from crmcli.cli._output import Column, OutputFormat, emit, emit_record, message
from crmcli.cli._query import QUERY_CONTEXT, QueryArg, compile_words, query_text
from crmcli.cli.views.contacts import LIST_COLUMNS, render_contact, report_unmerged
from crmcli.contacts import ListFilters
from crmcli.errors import CrmError, UsageError

if TYPE_CHECKING:  # imported by add and edit only: show and list never build the class
    from crmcli.contact_changes import ContactChanges

app = CrmTyper(help="Add, show, change, find and remove contacts.")


Ref = Annotated[
    str,
    typer.Argument(
        help="Contact id, or a unique fragment of a name or email.", autocompletion=complete_contact
    ),
]


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
    record["deals"] = [deal._asdict() for deal in deals.contact_deals(conn, contact_id)]
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
    display: Display = None,
    email: Emails = None,
    phone: Phones = None,
    company: Text = None,
    title: Title = None,
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
    source: Source = None,
    referred_by: ReferredBy = None,
    birthday: Birthday = None,
    anniversary: Anniversary = None,
    field: Fields = None,
    cadence: Cadence = None,
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
    with database(ctx, write=True) as conn:
        changes = contact_changes(conn, ctx.params)
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


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: Ref,
    first: Text = None,
    last: Text = None,
    display: Display = None,
    email: Emails = None,
    rm_email: RmEmails = None,
    phone: Phones = None,
    rm_phone: RmPhones = None,
    company: Text = None,
    title: Title = None,
    street: Text = None,
    city: Text = None,
    region: Text = None,
    postal_code: Text = None,
    country: Text = None,
    website: Text = None,
    source: Source = None,
    middle: MiddleOpt = None,
    prefix: PrefixOpt = None,
    suffix: SuffixOpt = None,
    nickname: NicknameOpt = None,
    department: DepartmentOpt = None,
    role: RoleOpt = None,
    tz: TzOpt = None,
    geo: GeoOpt = None,
    address: AddressOpt = None,
    rm_address: RmAddressOpt = None,
    url: UrlOpt = None,
    rm_url: RmUrlOpt = None,
    im: ImOpt = None,
    social: SocialOpt = None,
    rm_handle: RmHandleOpt = None,
    related: RelatedOpt = None,
    rm_related: RmRelatedOpt = None,
    photo: PhotoOpt = None,
    tag: Tags = None,
    untag: Untag = None,
    referred_by: ReferredBy = None,
    birthday: Birthday = None,
    anniversary: Anniversary = None,
    field: Fields = None,
    cadence: Cadence = None,
    clear: Clear = None,
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
    with database(ctx, write=True) as conn:
        contact_id = contacts.resolve(conn, ref)
        changes = contact_changes(conn, ctx.params)
        asked = do_not_contact is not None or email_optout is not None
        if changes.is_empty() and not asked:
            if not _edit_in_editor(conn, contact_id, asked_for=editor):
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


def _edit_in_editor(conn: Any, contact_id: int, *, asked_for: bool) -> bool:
    """Edit the contact in $EDITOR and save what the user changed; False when nothing was.
    Only when ``--editor`` asked for it or on a terminal: elsewhere an edit without options
    is a usage error.

    If the contact changed elsewhere while the editor was open, nothing is saved: the form
    reopens with both versions (what changed meanwhile, and the user's changes on top)."""
    from crmcli import contact_form

    if not (asked_for or interactive()):
        raise UsageError(
            "nothing to change: give options (see crm contact edit --help), "
            "or use --editor to edit the contact in $EDITOR"
        )
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
            report_unmerged(conn, merge.unmerge(conn, contact_id, now=now()))
            return
        contacts.restore(conn, contact_id)
        message(f"Restored contact {contact_id}: {contacts.get(conn, contact_id).name}")


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


# Commands of this group that live in modules of their own, imported only when used.
app.command_from("merge", "crmcli.cli.merge:merge_command")
app.command_from("unmerge", "crmcli.cli.merge:unmerge_command")
app.command_from("export-data", "crmcli.cli.privacy:export_data_command")
app.command_from("forget", "crmcli.cli.privacy:forget_command")
app.command_from("issues", "crmcli.cli.contact_issues:issues_command")
