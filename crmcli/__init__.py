"""crmcli: a contact manager and personal CRM for the terminal."""

__version__ = "0.1.0"
