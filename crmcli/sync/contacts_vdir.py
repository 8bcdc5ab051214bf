"""Two-way sync of the contacts with a vdir of vCards (one ``.vcf`` file per contact).

A run compares each side with the last sync (:mod:`crmcli.sync.state`): a file is changed when
its state and then its content hash differ; a contact when its signature differs and its card
does too. What changed on one side is applied to the other; what changed on both is merged
property by property (:func:`crmcli.sync.card.merge`). A file removed deletes its contact (to
the trash: ``crm contact restore``); a contact deleted removes its file; both gone is no
conflict. A file nobody has seen before is matched with the contacts by UID, then by the
identity rules, before it can become a new contact.

Order, so that a run killed at any moment converges when run again: the database's changes are
committed first (with the state of every item that needs no file written), then the files are
written and removed, then their state is recorded. A file written but not recorded is seen next
time as changed on both sides, to the same card: nothing to do but record it.
"""

from __future__ import annotations

import re

from crmcli.sync import card as cards
from crmcli.sync import contact_cards, engine, state, vdir
from crmcli.sync.engine import Pending, Run, Seen
from crmcli.sync.state import Item

KIND = "contacts"
EXT = ".vcf"
_VERSION = re.compile(r"^VERSION:[ \t]*([^\r\n]*)", re.MULTILINE | re.IGNORECASE)


def _version(text: str | None) -> str:
    """The version a contact's card is written in for its file: the file's own, so a 3.0 card
    from a phone gets what crmcli changes in 3.0's forms (X-ABRELATEDNAMES, X-ABDATE...);
    4.0 for a file crmcli makes."""
    found = _VERSION.search(text or "")
    return "4.0" if found is None or found.group(1).strip() == "4.0" else "3.0"


# --- reading both sides ---------------------------------------------------------------------------


def read_folder(run: Run) -> None:
    """Every file of the folder: unchanged ones by their state alone, the others read, parsed
    and checked (not a vCard, no UID, a UID another file has too: reported and skipped). A new
    file's parse is not kept: the importer reads its text (:func:`_new_files`)."""
    engine.read_folder(run, EXT, cards.parse, cards.CardError, keep_new=False)


# --- deciding and applying ------------------------------------------------------------------------


def sync(run: Run) -> None:
    """Apply every change that needs no file written (the caller commits), and leave the file
    writes in ``run.pending``."""
    run.known = state.items(run.conn, KIND)
    previous = list(run.known.values())
    read_folder(run)
    run.local = {row.id: row for row in contact_cards.local_rows(run.conn)}
    _new_files(run)
    for item in previous:
        if item.href not in run.skipped:
            _known_item(run, item)
    _new_contacts(run)
    state.save(run.conn, run.save, now=run.stamp)
    state.drop(run.conn, KIND, run.drop)


def _row(run: Run, contact_id: int) -> contact_cards.LocalRow:
    row = next(contact_cards.local_rows(run.conn, [contact_id]))
    run.local[contact_id] = row
    return row


def _item(run: Run, href: str, uid: str, row: contact_cards.LocalRow, version: str = "4.0") -> Item:
    return Item(None, KIND, href, uid, row.id, local_sig=row.signature,
                local_card=contact_cards.render(row.data, uid, version))  # fmt: skip


def _new_files(run: Run) -> None:
    """Files with no item: new contacts, or contacts crmcli has already (first sync)."""
    new = [s for h, s in run.seen.items() if h not in run.known and h not in run.skipped]
    if not new:
        return
    placed = contact_cards.create(run.conn, [(s.href, s.text or "") for s in new], now=run.now)
    made = {c.contact_id for c in placed.values() if c.contact_id is not None and not c.existed}
    run.local.update((row.id, row) for row in contact_cards.local_rows(run.conn, made))
    for seen in new:
        assert seen.uid is not None and seen.text is not None
        created = placed.get(seen.href)
        if created is None or created.contact_id is None:
            reason = created.reason if created else "cannot be read as a contact"
            engine.skip(run, seen.href, f"cannot be added: {reason}")
            continue
        if created.existed and created.contact_id not in run.local:
            engine.skip(run, seen.href, f"is contact {created.contact_id}, which is in the trash: "
                  f"crm contact restore {created.contact_id}, or remove the file")  # fmt: skip
            continue
        if created.existed:
            item = Item(None, KIND, seen.href, seen.uid, created.contact_id)
            run.known[seen.href] = item
            _merge(run, item, run.local[created.contact_id])
            continue
        row = run.local[created.contact_id]
        item = _item(run, seen.href, seen.uid, row, _version(seen.text))
        _remote_recorded(item, seen, seen.text)
        run.save.append(item)
        run.known[seen.href] = item
        run.report.act(KIND, "crmcli", "add", seen.href, row.id, row.data["name"])


def _remote_recorded(item: Item, seen: Seen, text: str) -> None:
    item.remote_state, item.remote_hash, item.remote_card = seen.state, seen.hash, text


def _known_item(run: Run, item: Item) -> None:
    seen = run.seen.get(item.href)
    row = run.local.get(item.contact_id) if item.contact_id is not None else None
    if seen is None and row is None:
        run.drop.append(item.href)
        state.resolve(run.conn, KIND, item.href, "gone", now=run.stamp)
    elif seen is None:
        _removed_in_vdir(run, item, row)
    elif row is None:
        _removed_in_crmcli(run, item, seen)
    elif seen.text is not None or row.signature != item.local_sig:
        _merge(run, item, row)
    elif seen.state != item.remote_state:
        item.remote_state = seen.state  # touched only
        run.save.append(item)


def _removed_in_vdir(run: Run, item: Item, row: contact_cards.LocalRow | None) -> None:
    assert row is not None
    version = _version(item.remote_card)
    if row.signature == item.local_sig or (
        contact_cards.render(row.data, item.uid, version) == item.local_card
    ):
        from crmcli import contacts

        contacts.trash(run.conn, row.id, now=run.now)
        run.drop.append(item.href)
        run.report.act(KIND, "crmcli", "delete", item.href, row.id, row.data["name"],
                       "removed in the vdir (crm contact restore brings it back)")  # fmt: skip
        return
    # changed in crmcli since: the change wins over the removal, the file is written again
    text = contact_cards.render(row.data, item.uid, version)
    item.local_sig, item.local_card = row.signature, text
    run.pending.append(Pending(item.href, text, None, item))
    run.report.act(KIND, "vdir", "add", item.href, row.id, row.data["name"],
                   "removed in the vdir but changed in crmcli since")  # fmt: skip


def _removed_in_crmcli(run: Run, item: Item, seen: Seen) -> None:
    if seen.text is None:  # unchanged in the vdir: remove the file
        run.pending.append(Pending(item.href, None, seen.state, None))
        run.report.act(KIND, "vdir", "delete", item.href, item.contact_id, None,
                       "deleted in crmcli")  # fmt: skip
        return
    # changed in the vdir since: the change wins; the contact comes back from the trash
    from crmcli import contacts
    from crmcli.errors import CrmError

    try:
        if item.contact_id is None:
            raise CrmError("erased")
        contacts.restore(run.conn, item.contact_id)
    except CrmError:
        state.record_conflict(run.conn, KIND, item.href, None, ["deleted"],
                              (None, seen.text), now=run.stamp, resolution="local",
                              lost=seen.text)  # fmt: skip
        run.pending.append(Pending(item.href, None, seen.state, None))
        run.report.act(KIND, "vdir", "delete", item.href, None, None,
                       "changed in the vdir, but erased or merged in crmcli: kept as a "
                       "resolved conflict")  # fmt: skip
        return
    row = _row(run, item.contact_id)
    run.report.act(KIND, "crmcli", "restore", item.href, row.id, row.data["name"],
                   "deleted in crmcli, changed in the vdir since")  # fmt: skip
    _merge(run, item, row)


def _merge(run: Run, item: Item, row: contact_cards.LocalRow) -> None:
    """Both sides as they are now against the last sync (none: first meeting)."""
    seen = run.seen[item.href]
    changed = seen.text is not None  # the file changed since the last sync, or is new
    remote_text = seen.text if changed else item.remote_card
    if remote_text is None:
        return
    version = _version(remote_text)
    local_text = contact_cards.render(row.data, item.uid, version)
    if local_text == item.local_card and not changed:
        item.local_sig = row.signature  # a change that is not in the card (a note...)
        run.save.append(item)
        return
    if local_text == remote_text and changed:
        _remote_recorded(item, seen, remote_text)  # the same card on both sides
        item.remote_state, item.local_sig, item.local_card = seen.state, row.signature, local_text
        run.save.append(item)
        state.resolve(run.conn, KIND, item.href, "merged", now=run.stamp)
        return
    prefer = run.prefer_for(item.href)
    merged = cards.merge(
        cards.parse(item.local_card) if item.local_card else None,
        cards.parse(local_text),
        cards.parse(item.remote_card) if item.remote_card else None,
        seen.card or cards.parse(remote_text),  # a new file's parse was not kept
        prefer=prefer,
    )
    name = row.data["name"]
    if merged.conflicts and prefer is None:
        state.record_conflict(run.conn, KIND, item.href, row.id, merged.conflicts,
                              (local_text, remote_text), now=run.stamp)  # fmt: skip
        run.report.act(KIND, "both", "conflict", item.href, row.id, name,
                       "changed on both sides: " + ", ".join(merged.conflicts))  # fmt: skip
        return
    if not _take_into_crmcli(run, item, row, merged):
        return
    row = run.local[row.id]
    item.local_sig = row.signature
    item.local_card = contact_cards.render(row.data, item.uid, version)
    _settle_conflict(run, item, row.id, merged, (local_text, remote_text), prefer)
    if merged.write_file:
        text = merged.card.text()
        run.pending.append(Pending(item.href, text, seen.state, item))
        run.report.act(KIND, "vdir", "update", item.href, row.id, name,
                       _names(merged.card, cards.parse(remote_text)))  # fmt: skip
    else:
        _remote_recorded(item, seen, remote_text)
        item.remote_state = seen.state
        run.save.append(item)


def _take_into_crmcli(
    run: Run, item: Item, row: contact_cards.LocalRow, merged: cards.Merged
) -> bool:
    names = merged.to_local - contact_cards.NOT_TAKEN
    if not names:
        return True
    from crmcli.db import savepoint
    from crmcli.errors import CrmError

    try:
        with savepoint(run.conn, "sync_item"):
            contact_cards.apply(run.conn, row.id, merged.card.text(), names, now=run.now)
    except CrmError as error:
        engine.skip(run, item.href, f"cannot be taken into crmcli: {error.message}")
        return False
    _row(run, row.id)
    run.report.act(KIND, "crmcli", "update", item.href, row.id, row.data["name"],
                   ", ".join(sorted(names)))  # fmt: skip
    return True


def _settle_conflict(
    run: Run,
    item: Item,
    contact_id: int,
    merged: cards.Merged,
    versions: tuple[str, str],
    prefer: str | None,
) -> None:
    if merged.conflicts and prefer is not None:
        state.record_conflict(run.conn, KIND, item.href, contact_id, merged.conflicts, versions,
                              now=run.stamp, resolution=prefer, lost=merged.lost)  # fmt: skip
    else:
        state.resolve(run.conn, KIND, item.href, "merged", now=run.stamp)


def _names(new: cards.Card, old: cards.Card) -> str:
    return ", ".join(
        sorted(
            n
            for n in new.names() | old.names()
            if cards.signature(new.of(n)) != cards.signature(old.of(n))
        )
    )


def _new_contacts(run: Run) -> None:
    """Contacts with no file yet get one, named by their UID."""
    linked = {item.contact_id for item in run.known.values()}
    for contact_id, row in run.local.items():
        if contact_id in linked:
            continue
        href = vdir.file_name(row.uid, EXT)
        if href in run.seen:
            engine.skip(
                run, href, f"is in the way of contact {contact_id}'s card; it was left alone"
            )
            continue
        item = _item(run, href, row.uid, row)
        run.pending.append(Pending(href, item.local_card, None, item))
        run.report.act(KIND, "vdir", "add", href, contact_id, row.data["name"])


write_files = engine.write_files
