"""How crmcli shows its records: the views more than one command draws.

A command module (``crmcli/cli/contacts.py``, ``deals.py``...) imports the library, the shared
CLI pieces (``_common``, ``_output``, ``_query``...) and these views, never another command
module: ``crm contact show`` draws a contact's deals with :mod:`crmcli.cli.views.deals`, not
with the code of ``crm deal``. A view takes records (or a connection, for the demo's views,
which read what they show) and writes through the one output sink, :mod:`crmcli.cli._output`.

The CLI's two extension points are declared here, as :class:`crmcli.registry.Registry`
entries naming ``"module:function"`` (imported when used, not at start-up):

* :data:`CONTACT_SECTIONS`: the parts of ``crm contact show`` on a terminal after the contact's
  own fields, called as ``function(console, record)``;
* :data:`DEMO_VIEWS`: what ``crm demo`` shows after building its database, in order, called as
  ``function(conn)``.
"""

from __future__ import annotations

from typing import Any

from crmcli.registry import Registry

# What they asked for, what to do next, then what happened.
CONTACT_SECTIONS: Registry[Any] = Registry("contact section")
CONTACT_SECTIONS.register("consent", "crmcli.cli.views.contacts:consent_section")
CONTACT_SECTIONS.register("reminders", "crmcli.cli.views.notes:reminders_section")
CONTACT_SECTIONS.register("notes", "crmcli.cli.views.notes:notes_section")
CONTACT_SECTIONS.register("deals", "crmcli.cli.views.deals:contact_section")
CONTACT_SECTIONS.register("customer", "crmcli.cli.views.customers:contact_section")

# The order a salesperson reads the morning in: what to do, who to greet, the pipeline, the
# customers, what runs by itself; the demo's contacts come last (crm demo shows them itself).
DEMO_VIEWS: Registry[Any] = Registry("demo view")
DEMO_VIEWS.register("agenda", "crmcli.cli.views.agenda:demo_view")
DEMO_VIEWS.register("dates", "crmcli.cli.views.dates:demo_view")
DEMO_VIEWS.register("pipeline", "crmcli.cli.views.deals:demo_view")
DEMO_VIEWS.register("customers", "crmcli.cli.views.customers:demo_view")
DEMO_VIEWS.register("rules", "crmcli.cli.views.rules:demo_view")
DEMO_VIEWS.register("campaigns", "crmcli.cli.views.campaigns:demo_view")
