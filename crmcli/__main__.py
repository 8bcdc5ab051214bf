"""``python -m crmcli`` runs the ``crm`` command."""

from crmcli.cli import main

if __name__ == "__main__":
    main()
