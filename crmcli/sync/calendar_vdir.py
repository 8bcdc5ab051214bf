"""Sync with a calendar vdir (one ``.ics`` file per item): yearly dates as all-day events,
reminders as to-dos, both ways for the to-dos.

- A yearly date (birthday, anniversary, labelled date) is an all-day VEVENT repeating every
  year (Feb 29 on the last day of February, FORMATS.md). The dates are the contacts': an event
  changed or removed in the calendar is written again as crmcli has it (change the date on the
  contact, or on the phone's card, which syncs through the contacts vdir).
- A reminder is a VTODO: DUE a date, or a time with its zone (TZID); a recurring one has its
  RRULE and keeps its UID from one occurrence to the next. Completing it in the calendar marks
  it done in crmcli (:func:`crmcli.reminders.complete`: a recurring one moves to its next
  occurrence, exactly once, and the to-do is written again for it); a changed summary or due
  date is taken; a to-do removed puts the reminder in the trash. A to-do made in the calendar
  becomes a reminder (one another crmcli wrote, ``...@crmcli``, is left alone).
- Fields changed on both sides differently: ``prefer``, else a conflict left as it is.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any, NamedTuple

from crmcli.sync import engine, state, vdir
from crmcli.sync.engine import Pending, Run, Seen
from crmcli.sync.state import Item

EXT = ".ics"
FIELDS = ("summary", "due", "status")
_NAMESPACE = uuid.UUID("0b6c2f4e-8d1a-5c3e-9f7b-2a4d6e8f1c3b")
_LINE_END = re.compile(r"\r\n|\r|\n")


class CalendarError(Exception):
    """A file that is not an iCalendar item crmcli can sync."""


class Component(NamedTuple):
    """The first VTODO or VEVENT of a file: its kind, UID and properties (name -> (params,
    value), the first of each)."""

    kind: str
    uid: str
    props: dict[str, tuple[dict[str, str], str]]


def _unfold(text: str) -> list[str]:
    """The content lines of a file, folded lines joined, empty ones dropped."""
    lines: list[str] = []
    for line in _LINE_END.split(text.lstrip("\ufeff")):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += line[1:]
        elif line:
            lines.append(line)
    return lines


def parse(text: str) -> Component:
    """The item of an ``.ics`` file; :class:`CalendarError` when there is none, or no UID."""
    lines = _unfold(text)
    if not lines or lines[0].strip().upper() != "BEGIN:VCALENDAR":
        raise CalendarError("it is not an iCalendar file (no BEGIN:VCALENDAR)")
    kind, depth, props = "", 0, {}
    for line in lines[1:]:
        head, _, value = line.partition(":")
        name, *raw_params = head.split(";")
        name = name.upper()
        if name == "BEGIN" and not kind and value.upper() in ("VTODO", "VEVENT"):
            kind = value.upper()
        elif name == "BEGIN" and kind:
            depth += 1  # VALARM inside
        elif name == "END" and kind and depth:
            depth -= 1
        elif name == "END" and kind:
            break
        elif kind and not depth and name not in props:
            params = dict(p.partition("=")[::2] for p in raw_params)
            props[name] = ({k.upper(): v.strip('"') for k, v in params.items()}, value)
    if not kind:
        raise CalendarError("it holds no event or to-do")
    uid = props.get("UID", ({}, ""))[1].strip()
    if not uid:
        raise CalendarError(f"its {kind} has no UID")
    return Component(kind, uid, props)


def _text(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _moment(params: dict[str, str], value: str) -> str:
    """A DUE/DTSTART as local text: ``2026-12-01`` or ``2026-12-01T10:00``."""
    value = value.strip()
    if params.get("VALUE", "").upper() == "DATE" or len(value) == 8:
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    moment = datetime.strptime(value[:15], "%Y%m%dT%H%M%S")
    if value.endswith("Z"):
        moment = moment.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)
    elif params.get("TZID"):
        from zoneinfo import ZoneInfo

        try:
            zone = ZoneInfo(params["TZID"])
            moment = moment.replace(tzinfo=zone).astimezone().replace(tzinfo=None)
        except (ValueError, OSError, LookupError):
            pass  # an unknown zone name: read as local time
    return moment.strftime("%Y-%m-%dT%H:%M")


def remote_fields(item: Component) -> dict[str, str]:
    """What the to-do says, in the form of :func:`local_fields`."""
    props = item.props
    due = props.get("DUE") or props.get("DTSTART")
    try:
        when = _moment(*due) if due else ""
    except ValueError:
        when = ""
    done = props.get("STATUS", ({}, ""))[1].strip().upper() == "COMPLETED" or "COMPLETED" in props
    return {
        "summary": " ".join(_text(props.get("SUMMARY", ({}, ""))[1]).split()),
        "due": when,
        "status": "done" if done else "open",
    }


def local_fields(reminder: Any) -> dict[str, str]:
    due = reminder.due
    return {
        "summary": reminder.body,
        "due": due.at.strftime("%Y-%m-%dT%H:%M" if due.has_time else "%Y-%m-%d"),
        "status": "done" if reminder.done_at else "open",
    }


def reminder_uid(reminder: Any) -> str:
    """A reminder's to-do UID: the same for it on every run (a to-do written by a run that was
    killed before it recorded it is recognised by it), and not another database's."""
    seed = f"{reminder.id}/{reminder.created_at}/{reminder.body}"
    return f"reminder-{uuid.uuid5(_NAMESPACE, seed)}@crmcli"


# --- crmcli's side --------------------------------------------------------------------------------


def _render_reminder(run: Run, reminder: Any, uid: str) -> str:
    from crmcli.clock import from_utc_text, local_zone_name
    from crmcli.io import ical

    data = ical.ReminderData(
        id=reminder.id,
        text=reminder.body,
        due=reminder.due.at,
        has_time=reminder.has_time,
        contact_name=reminder.contact,
        rule=reminder.rule,
        uid=uid,
        tzid=local_zone_name(),
        done_at=from_utc_text(reminder.done_at) if reminder.done_at else None,
        name_in_summary=False,
    )
    return ical.calendar([], dtstamp=run.now, reminders=[data])


def _render_date(run: Run, upcoming: Any) -> str:
    from crmcli.io import ical

    return ical.calendar([upcoming], dtstamp=run.now)


def _date_sig(upcoming: Any) -> str:
    text = json.dumps([upcoming.name, upcoming.label, upcoming.kind, upcoming.yearly.iso()])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _current(run: Run, reminder_id: int | None) -> Any:
    """The reminder an item stands for now: the latest occurrence of its series (completing a
    recurring one makes a new reminder), or None when it is gone or in the trash."""
    from crmcli import reminders
    from crmcli.errors import NotFound

    if reminder_id is None:
        return None
    try:
        found = reminders.get(run.conn, _latest(run, reminder_id), include_deleted=True)
    except NotFound:
        return None
    contact_gone = (
        found.contact_id is not None
        and run.conn.execute(
            "SELECT deleted_at IS NOT NULL FROM contacts WHERE id = ?", (found.contact_id,)
        ).fetchone()[0]
    )
    return None if found.deleted_at or contact_gone else found


# --- the run --------------------------------------------------------------------------------------


def sync(run: Run) -> None:
    """Apply what needs no file written; leave the files in ``run.pending``."""
    from crmcli import anniversaries, config, reminders

    run.known = state.items(run.conn, run.kind)
    previous = list(run.known.values())
    engine.read_folder(run, EXT, parse, CalendarError)
    today = run.now.date()
    dates = {
        _date_uid(u): u
        for u in anniversaries.every_date(run.conn, today, feb29=config.load().feb29)
    }
    open_ones = {r.id: r for r in reminders.list_reminders(run.conn, reminders.ReminderFilters())}
    linked: set[int] = set()
    for item in previous:
        if item.href in run.skipped:
            continue
        if item.reminder_id is not None or (item.contact_id is None and item.uid not in dates):
            current = _current(run, item.reminder_id)
            if current is not None:
                linked.add(current.id)
            _reminder_item(run, item, current)
        else:
            _date_item(run, item, dates.pop(item.uid, None))
    mine = {reminder_uid(r): r for i, r in open_ones.items() if i not in linked}
    _new_files(run, dates, mine)
    for uid, upcoming in dates.items():
        _write_new(
            run, uid, upcoming.contact_id, None, _render_date(run, upcoming), _date_sig(upcoming)
        )
    for uid, reminder in mine.items():
        text = _render_reminder(run, reminder, uid)
        _write_new(
            run, uid, reminder.contact_id, reminder.id, text, json.dumps(local_fields(reminder))
        )
    state.save(run.conn, run.save, now=run.stamp)
    state.drop(run.conn, run.kind, run.drop)


def _date_uid(upcoming: Any) -> str:
    from crmcli.io.ical import date_uid

    return date_uid(upcoming.contact_uid, upcoming.label)


def _write_new(
    run: Run, uid: str, contact_id: int | None, reminder_id: int | None, text: str, sig: str
) -> None:
    href = vdir.file_name(uid, EXT)
    if href in run.seen:
        engine.skip(run, href, "is in the way of crmcli's item of that UID; it was left alone")
        return
    item = Item(
        None, run.kind, href, uid, contact_id, reminder_id, sig, sig if reminder_id else None
    )
    run.pending.append(Pending(href, text, None, item))
    what = "reminder" if reminder_id else "date"
    run.report.act(run.kind, "vdir", "add", href, contact_id, None, what)


def _new_files(run: Run, dates: dict[str, Any], mine: dict[str, Any]) -> None:
    """Files no item knows: crmcli's own (a run killed before it recorded them), to-dos made
    in the calendar (new reminders), and anything else (left alone)."""
    from crmcli import reminders
    from crmcli.dates import When

    for href, seen in run.seen.items():
        if href in run.known or href in run.skipped or seen.card is None:
            continue
        component: Component = seen.card
        uid = component.uid
        if uid in dates or uid in mine:
            reminder = mine.pop(uid, None)
            upcoming = dates.pop(uid, None)
            item = Item(None, run.kind, href, uid, reminder.contact_id if reminder else upcoming.contact_id,
                        reminder.id if reminder else None)  # fmt: skip
            item.local_sig = json.dumps(local_fields(reminder)) if reminder else _date_sig(upcoming)
            item.local_card = item.local_sig if reminder else None
            item.remote_state, item.remote_hash, item.remote_card = seen.state, seen.hash, seen.text
            run.save.append(item)
            continue
        if component.kind != "VTODO" or uid.endswith("@crmcli"):
            continue  # not crmcli's to keep in step
        fields = remote_fields(component)
        if fields["status"] == "done" or not fields["summary"]:
            continue
        due = fields["due"] or run.now.date().isoformat()
        when = When(datetime.fromisoformat(due), "T" in due)
        added = reminders.add(run.conn, fields["summary"], when, now=run.now)
        item = Item(None, run.kind, href, uid, None, added.id, json.dumps(local_fields(added)))
        item.local_card = item.local_sig
        item.remote_state, item.remote_hash, item.remote_card = seen.state, seen.hash, seen.text
        run.save.append(item)
        run.report.act(
            run.kind, "crmcli", "add", href, None, added.body, "a to-do from the calendar"
        )


def _date_item(run: Run, item: Item, upcoming: Any) -> None:
    """A yearly date's event: crmcli's version is the one kept."""
    seen = run.seen.get(item.href)
    if upcoming is None:
        run.pending.append(Pending(item.href, None, seen.state if seen else None, None))
        run.report.act(run.kind, "vdir", "delete", item.href, item.contact_id, None, "date removed")
        return
    sig = _date_sig(upcoming)
    if seen is not None and seen.card is None and sig == item.local_sig:
        if seen.state != item.remote_state:
            item.remote_state = seen.state
            run.save.append(item)
        return
    item.local_sig = sig
    detail = "the date is the contact's: change it there" if seen is None or seen.card else ""
    run.pending.append(
        Pending(item.href, _render_date(run, upcoming), seen.state if seen else None, item)
    )
    run.report.act(
        run.kind, "vdir", "update", item.href, upcoming.contact_id, upcoming.name, detail
    )


def _reminder_item(run: Run, item: Item, current: Any) -> None:
    """A reminder's to-do: the fields changed on each side since the last sync."""
    seen = run.seen.get(item.href)
    local_before = json.loads(item.local_card) if item.local_card else None
    remote_before = remote_fields(parse(item.remote_card)) if item.remote_card else None
    if seen is None:
        remote_now = None
    else:
        remote_now = remote_fields(seen.card) if seen.card is not None else remote_before
    local_now = local_fields(current) if current is not None else None
    if remote_now is None:
        _removed_in_calendar(run, item, current, local_now == local_before)
        return
    assert seen is not None
    if current is None:
        current = _restored(run, item, seen, remote_now == remote_before)
        if current is None:
            return
        local_now = local_fields(current)
    assert local_now is not None
    if local_now == local_before and remote_now == remote_before:
        if seen.state != item.remote_state:
            item.remote_state = seen.state
            run.save.append(item)
        return
    _merge_reminder(
        run, item, seen, current, (local_before, local_now), (remote_before, remote_now)
    )


def _removed_in_calendar(run: Run, item: Item, current: Any, unchanged: bool) -> None:
    from crmcli import reminders

    if current is None or (unchanged and current.done_at):
        run.drop.append(item.href)
        return
    if unchanged:
        reminders.trash(run.conn, current.id, now=run.now)
        run.drop.append(item.href)
        run.report.act(run.kind, "crmcli", "delete", item.href, current.contact_id, current.body,
                       f"to-do removed (crm reminders restore {current.id})")  # fmt: skip
        return
    # changed in crmcli since: the change wins over the removal
    _write_reminder(run, item, current, None, "removed in the calendar, changed in crmcli since")


def _restored(run: Run, item: Item, seen: Seen, unchanged: bool) -> Any:
    """The reminder is gone from crmcli's side: remove its file, unless it changed in the
    calendar since (then the reminder comes back from the trash, when it can)."""
    from crmcli import reminders
    from crmcli.errors import CrmError

    if unchanged:
        run.pending.append(Pending(item.href, None, seen.state, None))
        run.report.act(
            run.kind, "vdir", "delete", item.href, item.contact_id, None, "reminder deleted"
        )
        return None
    try:
        if item.reminder_id is None:
            raise CrmError("gone")
        last = _latest(run, item.reminder_id)
        reminders.restore(run.conn, last)
        restored = _current(run, last)
        if restored is None:
            raise CrmError("its contact is in the trash")
    except CrmError:
        state.record_conflict(run.conn, run.kind, item.href, item.contact_id, ["deleted"],
                              (None, seen.text), now=run.stamp, resolution="local",
                              lost=seen.text)  # fmt: skip
        run.pending.append(Pending(item.href, None, seen.state, None))
        return None
    run.report.act(run.kind, "crmcli", "restore", item.href, restored.contact_id, restored.body,
                   "deleted in crmcli, changed in the calendar since")  # fmt: skip
    return restored


def _latest(run: Run, reminder_id: int) -> int:
    while True:
        row = run.conn.execute(
            "SELECT id FROM reminders WHERE previous_id = ?", (reminder_id,)
        ).fetchone()
        if row is None:
            return reminder_id
        reminder_id = int(row[0])


def _merge_reminder(
    run: Run,
    item: Item,
    seen: Seen,
    current: Any,
    local: tuple[dict[str, str] | None, dict[str, str]],
    remote: tuple[dict[str, str] | None, dict[str, str]],
) -> None:
    (l0, l1), (r0, r1) = local, remote
    take: dict[str, str] = {}
    conflicts: list[str] = []
    for name in FIELDS:
        local_changed = (l0 or {}).get(name) != l1[name]
        remote_changed = (r0 or {}).get(name) != r1[name]
        if remote_changed and local_changed and l1[name] != r1[name]:
            conflicts.append(name)
        elif remote_changed and l1[name] != r1[name]:
            take[name] = r1[name]
        elif local_changed:
            pass
    prefer = run.prefer_for(item.href)
    if conflicts and prefer is None:
        state.record_conflict(run.conn, run.kind, item.href, current.contact_id, conflicts,
                              (json.dumps(l1), seen.text), now=run.stamp)  # fmt: skip
        run.report.act(run.kind, "both", "conflict", item.href, current.contact_id, current.body,
                       "changed on both sides: " + ", ".join(conflicts))  # fmt: skip
        return
    if conflicts:
        loser = r1 if prefer == "local" else l1
        state.record_conflict(run.conn, run.kind, item.href, current.contact_id, conflicts,
                              (json.dumps(l1), seen.text), now=run.stamp, resolution=prefer,
                              lost=json.dumps({k: loser[k] for k in conflicts}))  # fmt: skip
        take.update({k: r1[k] for k in conflicts if prefer == "remote"})
    else:
        state.resolve(run.conn, run.kind, item.href, "merged", now=run.stamp)
    if take:
        current = _take(run, item, current, take, r1)
        if current is None:
            return
    _write_reminder(run, item, current, seen, "", remote=r1)


def _take(run: Run, item: Item, current: Any, take: dict[str, str], r1: dict[str, str]) -> Any:
    """Apply the calendar's changes to the reminder; completing it comes last (the next
    occurrence inherits the new text), and only for the occurrence the to-do was (a to-do
    completed twice, or after a run killed half-way, never skips one)."""
    from crmcli import reminders
    from crmcli.dates import When
    from crmcli.db import savepoint
    from crmcli.errors import CrmError

    try:
        with savepoint(run.conn, "sync_todo"):
            if current.done_at is None and "summary" in take and take["summary"]:
                reminders.edit(
                    run.conn,
                    current.id,
                    reminders.ReminderChanges(body=take["summary"]),
                    now=run.now,
                )
            if current.done_at is None and take.get("due"):
                due = take["due"]
                reminders.snooze(
                    run.conn, current.id, When(datetime.fromisoformat(due), "T" in due), now=run.now
                )
            # only the occurrence the to-do was: never the next one (see the docstring)
            same = r1["due"] == local_fields(reminders.get(run.conn, current.id))["due"]
            if take.get("status") == "done" and current.done_at is None and same:
                reminders.complete(run.conn, current.id, now=run.now)
                run.report.act(run.kind, "crmcli", "done", item.href, current.contact_id,
                               current.body, "completed in the calendar")  # fmt: skip
    except CrmError as error:
        engine.skip(run, item.href, f"cannot be taken into crmcli: {error.message}")
        return None
    changed = [k for k in take if k != "status"]
    if changed:
        run.report.act(run.kind, "crmcli", "update", item.href, current.contact_id, current.body,
                       ", ".join(changed))  # fmt: skip
    return _current(run, current.id) or reminders.get(run.conn, _latest(run, current.id))


def _write_reminder(
    run: Run,
    item: Item,
    current: Any,
    seen: Seen | None,
    detail: str,
    *,
    remote: dict[str, str] | None = None,
) -> None:
    """Record the reminder's state; its file is written again unless it already says it."""
    fields = local_fields(current)
    item.reminder_id = current.id
    item.local_sig = item.local_card = json.dumps(fields)
    if seen is not None and remote == fields:
        item.remote_state, item.remote_hash = seen.state, seen.hash or item.remote_hash
        item.remote_card = seen.text or item.remote_card
        run.save.append(item)
        return
    text = _render_reminder(run, current, item.uid)
    run.pending.append(Pending(item.href, text, seen.state if seen else None, item))
    run.report.act(run.kind, "vdir", "update", item.href, current.contact_id, current.body, detail)


write_files = engine.write_files
