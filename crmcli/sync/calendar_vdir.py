"""Two-way sync of yearly dates and reminders with a calendar vdir (placeholder)."""
