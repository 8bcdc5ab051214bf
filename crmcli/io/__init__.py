"""File formats (CSV, vCard, iCalendar): reading and writing, no Typer."""
