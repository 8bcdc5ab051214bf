"""File formats: CSV in and out, vCard. Pure format code: no Typer, no database writes."""
