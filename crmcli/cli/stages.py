"""``crm stage ...``: adapt the sales process."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli import stages
from crmcli.cli._common import (
    CrmTyper,
    FormatOpt,
    YesOpt,
    complete_stage,
    confirm,
    database,
    now,
    print_created,
)
from crmcli.cli._output import Column, emit, message
from crmcli.errors import ValidationError

app = CrmTyper(help="List and adapt the pipeline's stages (won and lost are fixed end states).")

StageName = Annotated[
    str, typer.Argument(help="Stage name (or a unique prefix).", autocompletion=complete_stage)
]
Before = Annotated[
    str | None,
    typer.Option(help="Place it before this open stage.", autocompletion=complete_stage),
]
After = Annotated[
    str | None,
    typer.Option(help="Place it after this open stage.", autocompletion=complete_stage),
]

COLUMNS = [
    Column("position", "#", justify="right", priority=1),
    Column("name", "Stage", priority=1),
    Column("kind", "Kind"),
    Column("probability", "%", justify="right"),
    Column("stale_days", "Stale after", show=lambda v: f"{v} days" if v else "", justify="right"),
    Column("deals", "Deals", justify="right"),
    Column("id", in_table=False),
]


def _stale(text: str | None) -> tuple[int | None, bool]:
    """``--stale 14d`` -> (14, False); ``--stale off`` -> (None, True)."""
    from crmcli.dates import parse_days

    if text is None:
        return None, False
    if text.strip().lower() in ("off", "never", "none", ""):
        return None, True
    days = parse_days(text)
    if days < 1:
        raise ValidationError(f"--stale {text!r} must be at least 1 day")
    return days, False


def _describe(stage: stages.Stage) -> str:
    stale = f", stale after {stage.stale_days} days" if stage.stale_days else ""
    return f"{stage.name} ({stage.probability}%{stale})"


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List the stages in order, with their probability, stale threshold and deal count."""
    with database(ctx) as conn:
        emit(stages.list_rows(conn), COLUMNS, fmt)


@app.command("add")
def add(
    ctx: typer.Context,
    name: StageName,
    probability: Annotated[int, typer.Option(help="Default probability (percent).")] = 50,
    stale: Annotated[
        str | None, typer.Option(help="Stale after: 14d, 2w; 'off' for never.")
    ] = None,
    before: Before = None,
    after: After = None,
) -> None:
    """Add an open stage (after the last open stage unless --before/--after).

    Example: crm stage add demo --probability 40 --stale 10d --after qualified
    """
    days, _ = _stale(stale)
    with database(ctx, write=True) as conn:
        stage = stages.add(
            conn, name, probability=probability, stale_days=days, before=before, after=after
        )
    message(f"Added stage {_describe(stage)} at position {stage.position}")
    print_created(stage.name, None)


@app.command("rename")
def rename(
    ctx: typer.Context,
    old: StageName,
    new: Annotated[str, typer.Argument(help="New name.")],
) -> None:
    """Rename a stage; deals and history follow."""
    with database(ctx, write=True) as conn:
        before = stages.find(conn, old).name
        stage = stages.rename(conn, old, new)
    message(f"Renamed stage {before} to {stage.name}")


@app.command("move")
def move(
    ctx: typer.Context,
    name: StageName,
    position: Annotated[
        int | None, typer.Argument(help="New position among the open stages (1 = first).")
    ] = None,
    before: Before = None,
    after: After = None,
) -> None:
    """Reorder an open stage: crm stage move demo 2, or --before/--after another stage."""
    with database(ctx, write=True) as conn:
        stage = stages.move(conn, name, position=position, before=before, after=after)
        order = " -> ".join(s.name for s in stages.open_stages(conn))
    message(f"Moved stage {stage.name} to position {stage.position}: {order}")


@app.command("rm")
def remove(
    ctx: typer.Context,
    name: StageName,
    move_to: Annotated[
        str | None,
        typer.Option("--move-to", help="Where its deals go (needed when it has deals)."),
    ] = None,
    yes: YesOpt = False,
) -> None:
    """Remove an open stage; a stage with deals needs --move-to STAGE for them.

    Each moved deal gets the move in its history. Won and lost cannot be removed.
    """
    with database(ctx, write=True) as conn:
        stage = stages.find(conn, name)
        confirm(f"Remove stage {stage.name}?", yes=yes)
        removed, count, target = stages.remove(conn, name, move_to=move_to, now=now())
    moved = f"; moved {count} deal{'s' if count != 1 else ''} to {target.name}" if target else ""
    message(f"Removed stage {removed.name}{moved if count else ''}")


@app.command("set")
def set_(
    ctx: typer.Context,
    name: StageName,
    probability: Annotated[int | None, typer.Option(help="Default probability (percent).")] = None,
    stale: Annotated[
        str | None, typer.Option(help="Stale after: 14d, 2w; 'off' for never.")
    ] = None,
) -> None:
    """Change a stage's default probability or stale threshold.

    Example: crm stage set proposal --probability 60 --stale 10d
    """
    days, clear = _stale(stale)
    if probability is None and days is None and not clear:
        raise ValidationError("nothing to change: give --probability and/or --stale")
    with database(ctx, write=True) as conn:
        stage = stages.set_values(
            conn, name, probability=probability, stale_days=days, clear_stale=clear
        )
    message(f"Stage {_describe(stage)}")
