"""What a CSV column is, from its header: the known exporters' names (Google, Outlook, LinkedIn,
Thunderbird, Roundcube, crmcli) and plain names in English, German, French, Spanish, Italian,
Dutch and Portuguese (Vorname, Prénom, Téléfono, Straße geschäftlich...).

A header is compared in a folded form (:func:`fold`: lower case, accents and punctuation
gone), so "E-Mail-Adresse", "E-mail address" and "email_address" are the same. A column is a
:data:`Target` ``(kind, argument, group)``: the kind says where its cells go, the group ties
the parts of one address (or a value and its label column) together.
"""

from __future__ import annotations

import re
import unicodedata

from crmcli.io.record import normalize_label

Target = tuple[str, str | None, str | None]


def fold(header: str) -> str:
    """``"Straße geschäftlich 2"`` -> ``"strassegeschaftlich2"``."""
    text = unicodedata.normalize("NFKD", header.replace("\ufeff", "").casefold())
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in text if not unicodedata.combining(c)))


def key(header: str) -> str:
    """A header as the exporters' tables name it: lower case, spaces collapsed."""
    return " ".join(header.replace("\ufeff", "").strip().lower().split())


def _table(groups: dict[Target, str]) -> dict[str, Target]:
    """Space-separated folded names per target -> one name -> target dictionary."""
    return {name: target for target, names in groups.items() for name in names.split()}


# --- plain names, every language ---------------------------------------------------------------

#: names that mean one field, whatever else the file has
ALIASES: dict[str, Target] = _table({
    ("name", None, None): "fullname contactname contact person vollstandigername nomcomplet "
        "nombrecompleto nomecompleto volledigenaam",
    ("text", "display_name", None): "displayname anzeigename nomaffiche",
    ("text", "first_name", None): "firstname givenname forename first vorname prenom "
        "primernombre voornaam primeironome",
    ("text", "last_name", None): "lastname surname familyname last nachname familienname "
        "nomdefamille apellido apellidos cognome achternaam sobrenome ultimonome",
    ("text", "middle_name", None): "middlename additionalname middlenames weiterevornamen "
        "zweitervorname deuxiemeprenom secondprenom segundonombre secondonome tussenvoegsel "
        "nomedomeio",
    ("text", "name_prefix", None): "nameprefix prefix salutation anrede titel akademischertitel "
        "civilite tratamiento titolo aanhef titulo honorificprefix",
    ("text", "name_suffix", None): "namesuffix suffix namenszusatz suffixe sufijo suffisso "
        "achtervoegsel sufixo",
    ("text", "nickname", None): "nickname spitzname rufname surnom apodo soprannome bijnaam "
        "alcunha apelido",
    ("text", "company", None): "company companyname organization organisation organizationname "
        "org employer account accountname firma firmenname unternehmen societe entreprise "
        "empresa compania azienda societa ditta bedrijf bedrijfsnaam organisatie workcompany",
    ("text", "department", None): "department dept abteilung departement departamento reparto "
        "afdeling workdept",
    ("text", "title", None): "title jobtitle position role job funktion beruf jobbezeichnung "
        "poste fonction metier cargo puesto qualifica ruolo mansione functie worktitle "
        "profissao",
    ("text", "time_zone", None): "timezone zeitzone fuseauhoraire zonahoraria fusoorario "
        "tijdzone fusohorario",
    ("website", None, "1"): "website web url homepage site webpage webseite internetseite "
        "homepage siteweb sitioweb paginaweb sitoweb",
    ("event", "birthday", "birthday"): "birthday birthdate dateofbirth dob bday geburtstag "
        "geburtsdatum anniversaire datedenaissance cumpleanos fechadenacimiento compleanno "
        "datadinascita verjaardag geboortedatum aniversario datadenascimento",
    ("event", "anniversary", "anniversary"): "anniversary jahrestag hochzeitstag "
        "anniversairedemariage aniversariodeboda anniversariodimatrimonio trouwdag",
    ("tags", ",", None): "tags tag labels label categories category groups group "
        "groupmembership labels kategorie kategorien gruppe gruppen schlagworte categorie "
        "categories groupe groupes etiquettes categoria categorias grupo grupos etiquetas "
        "gruppi etichette categorieen groepen etiketten marcadores",
    ("notes", None, None): "notes note comments comment description info notiz notizen "
        "bemerkung bemerkungen anmerkung anmerkungen kommentar remarques remarque commentaire "
        "commentaires notas nota comentario comentarios observaciones commento commenti "
        "notities notitie opmerkingen opmerking observacoes",
    ("text", "source", None): "source leadsource quelle herkunft origine fuente origem bron",
    ("uid", None, None): "uid",
    ("photo", None, None): "photo picture foto bild image userphoto",
    ("connected", None, None): "connectedon",
    # consent (crmcli.consent): Salesforce, HubSpot, Zoho and mailing-list exports
    ("email_optout", None, None): "emailoptout optedout optout unsubscribed emailunsubscribed "
        "hasoptedoutofemail donotemail unsubscribedfromallemail",
    ("do_not_contact", None, None): "donotcontact",
    ("birth_y", None, None): "birthyear",
    ("birth_m", None, None): "birthmonth",
})  # fmt: skip
#: names that are the full name alone, but the family name next to a given-name column
#: (German Vorname + Name, French Prénom + Nom), and given names that are the full name alone
_LAST_IF_FIRST = {"name", "nom", "naam"}
_FIRST_IF_LAST = {"nome", "nombre"}

# --- labelled values: a kind word and a label word, in either order, maybe numbered ------------

_LABEL_WORDS = _table({
    ("work", None, None): "work business office geschaftlich buro dienstlich arbeit beruflich "
        "professionnel bureau travail trabajo oficina laboral lavoro ufficio werk zakelijk "
        "kantoor trabalho comercial",
    ("home", None, None): "home private privat personal domicile maison personnel casa "
        "particular personale prive thuis",
    ("other", None, None): "other weitere andere sonstige autre autres otro otra altro overig "
        "outro",
    ("", None, None): "primary secondary alternate additional",
})  # fmt: skip
_KIND_WORDS = _table({
    ("email", None, None): "email emails mail emailaddress mailaddress emailadresse adresseemail "
        "courriel adressecourriel correo correoelectronico posta postaelettronica "
        "indirizzoemail emailadres",
    ("phone", None, None): "phone telephone tel phonenumber telefon telefonnummer telefono "
        "telefone telefoon telefoonnummer",
    ("phone", "mobile", None): "mobile mobil mobilephone mobilenumber mobiltelefon handy cell "
        "cellphone cellular portable telephoneportable movil telefonomovil celular cellulare "
        "mobiel mobielnummer telemovel",
    ("phone", "fax", None): "fax faxnumber telefax",
    ("phone", "pager", None): "pager pagernumber",
    ("addr", "street", None): "street address streetaddress addressline strasse anschrift "
        "adresse rue calle direccion via indirizzo straat adres rua endereco morada",
    ("addr", "city", None): "city town locality ort stadt wohnort ville ciudad localidad citta "
        "comune plaats woonplaats cidade localidade",
    ("addr", "region", None): "region state province county stateprovince bundesland "
        "provinz canton departement provincia estado provincie distrito",
    ("addr", "postal_code", None): "postalcode zip zipcode postcode plz postleitzahl "
        "codepostal cp codigopostal cap cep",
    ("addr", "country", None): "country countryregion land pays pais paese nazione",
    ("addr", "po_box", None): "pobox addresspobox postfach boitepostale apartadopostal "
        "casellapostale postbus caixapostal",
    ("url", None, None): "webpage website web url homepage site webseite siteweb sitioweb "
        "sitoweb",
    ("im", None, None): "im screenname messenger instantmessenger",
})  # fmt: skip
_LABELS = "|".join(sorted(_LABEL_WORDS, key=len, reverse=True))
_KINDS = "|".join(sorted(_KIND_WORDS, key=len, reverse=True))
_LABELLED = re.compile(
    rf"^(?P<before>{_LABELS})?(?P<kind>{_KINDS})(?P<after>{_LABELS})?(?P<number>\d*)$"
)
_ROUNDCUBE_IM = re.compile(r"^im(aim|icq|jabber|msn|skype|yahoo|other)$")
_ROUNDCUBE_WEB = re.compile(r"^website(blog|homepage|other|profile|work)$")


def labelled(folded: str) -> Target | None:
    """``homephone``, ``telefongeschaftlich``, ``businessstreet2``, ``emailwork``: a value of a
    kind with a label; an address part's group is its label (a street's number its line)."""
    im = _ROUNDCUBE_IM.match(folded)
    if im:
        service = {"jabber": "xmpp", "other": None}.get(im.group(1), im.group(1))
        return ("im", service, folded)
    web = _ROUNDCUBE_WEB.match(folded)
    if web:
        return ("website", web.group(1), folded)
    match = _LABELLED.match(folded)
    if not match:
        return None
    kind, part, _ = _KIND_WORDS[match.group("kind")]
    word = match.group("before") or match.group("after")
    label = _LABEL_WORDS[word][0] or None if word else None
    number = match.group("number")
    if kind == "addr":
        if part == "street" and number not in ("", "1"):
            part = f"street{number}"
        return ("addr", part, label or "")
    if kind == "phone" and part:  # mobile, fax, pager: with the label before ("home fax")
        label = part if part == "mobile" else f"{label} {part}" if label else part
    if kind == "url":
        return ("website", label, folded)
    if kind == "im":
        return ("im", None, folded)
    return (kind, label, folded)


def generic(header: str) -> Target | None:
    """A plain file's column (any of the languages above), or None (a custom field)."""
    name = key(header)
    for prefix in ("person - ", "contact - "):  # Pipedrive and co. prefix the entity
        if name.startswith(prefix):
            name = name[len(prefix) :]
    if name.startswith("organization - "):
        return ("text", "company", None) if name.endswith(" - name") else None
    match = re.match(r"^(email|phone) - (\w+)$", name)
    if match:
        return (match.group(1), normalize_label(match.group(2)), name)
    if name == "birth day":  # Thunderbird's ("Birthday" once folded)
        return ("birth_d", None, None)
    folded = fold(name)
    return ALIASES.get(folded) or labelled(folded)


def settle_names(header: list[str], targets: list[Target | None]) -> None:
    """ "Name" next to a given-name column is the family name (German Vorname + Name, French
    Prénom + Nom); "Nome"/"Nombre" next to a family-name column is the given name."""
    folded = [fold(h) for h in header]
    kinds = [t[1] if t and t[0] == "text" else None for t in targets]
    for index, word in enumerate(folded):
        target = targets[index]
        if target is not None and target[0] != "name":
            continue
        if word in _FIRST_IF_LAST and "last_name" in kinds:
            targets[index] = ("text", "first_name", None)
        elif word in _LAST_IF_FIRST and "first_name" in kinds and "last_name" not in kinds:
            targets[index] = ("text", "last_name", None)
            kinds[index] = "last_name"
        elif word in _LAST_IF_FIRST | _FIRST_IF_LAST and target is None:
            targets[index] = ("name", None, None)
    # Portuguese "Aniversário" is the birthday, Spanish "Aniversario" the wedding anniversary:
    # next to another birthday column, it is the anniversary
    birthdays = [i for i, t in enumerate(targets) if t and t[1] == "birthday"]
    for index in birthdays:
        if folded[index] == "aniversario" and len(birthdays) > 1:
            targets[index] = ("event", "anniversary", "anniversary")


# --- the known exporters ----------------------------------------------------------------------

_GOOGLE_GROUP = re.compile(
    r"^(e-mail|email|phone|address|website|event|custom field|relation|organization|im|"
    r"instant messenger|external id) (\d+) - (.+)$"
)
_GOOGLE_SIMPLE: dict[str, Target] = {
    "first name": ("text", "first_name", None),
    "given name": ("text", "first_name", None),
    "last name": ("text", "last_name", None),
    "family name": ("text", "last_name", None),
    "middle name": ("text", "middle_name", None),
    "additional name": ("text", "middle_name", None),
    "name prefix": ("text", "name_prefix", None),
    "name suffix": ("text", "name_suffix", None),
    "name": ("name", None, None),
    "nickname": ("text", "nickname", None),
    "organization name": ("text", "company", None),
    "organization title": ("text", "title", None),
    "organization department": ("text", "department", None),
    "birthday": ("event", "birthday", "birthday"),
    "notes": ("notes", None, None),
    "photo": ("photo", None, None),
    "labels": ("tags", ":::", None),
    "group membership": ("tags", ":::", None),
}
_ADDRESS_PARTS = {
    "street": "street", "city": "city", "region": "region", "postal code": "postal_code",
    "country": "country", "extended address": "extended", "po box": "po_box",
    "formatted": "formatted",
}  # fmt: skip
#: Google's group -> (kind of its value, whether it has a label column)
_GOOGLE_KINDS = {"e-mail": "email", "email": "email", "phone": "phone", "website": "website",
                 "event": "event", "custom field": "custom", "relation": "related",
                 "im": "im", "instant messenger": "im"}  # fmt: skip


def google(name: str) -> Target | None:
    """A column of Google Contacts' CSV (current and older formats)."""
    simple = _GOOGLE_SIMPLE.get(name)
    if simple:
        return simple
    match = _GOOGLE_GROUP.match(name)
    if not match:
        return None
    group_kind, number, part = match.groups()
    group = f"g{number}"
    if group_kind == "address":
        if part in ("label", "type"):
            return ("addr_label", None, group)
        return ("addr", _ADDRESS_PARTS[part], group) if part in _ADDRESS_PARTS else None
    if group_kind == "organization":
        fields = {"name": "company", "title": "title", "department": "department"}
        return ("text", fields[part], None) if number == "1" and part in fields else None
    kind = _GOOGLE_KINDS.get(group_kind)
    if kind is None:
        return None
    if part in ("label", "type"):
        return ({"website": "url", "custom": "custom"}.get(kind, kind) + "_label", None, group)
    if kind == "im" and part == "service":
        return ("im_service", None, group)
    return (kind, None, group) if part == "value" else None


_OUTLOOK_PHONES = {
    "business phone": "work", "business phone 2": "work", "home phone": "home",
    "home phone 2": "home", "mobile phone": "mobile", "other phone": "other",
    "primary phone": "main", "company main phone": "company", "business fax": "work fax",
    "home fax": "home fax", "other fax": "fax", "pager": "pager", "car phone": "car",
    "assistant's phone": "assistant", "callback": "callback", "isdn": "isdn",
    "radio phone": "radio", "tty/tdd phone": "tty", "telex": "telex",
}  # fmt: skip
_OUTLOOK_SIMPLE: dict[str, Target] = {
    "title": ("text", "name_prefix", None),  # Mr., Dr.: Outlook's job title is "Job Title"
    "first name": ("text", "first_name", None),
    "middle name": ("text", "middle_name", None),
    "last name": ("text", "last_name", None),
    "suffix": ("text", "name_suffix", None),
    "nickname": ("text", "nickname", None),
    "company": ("text", "company", None),
    "department": ("text", "department", None),
    "job title": ("text", "title", None),
    "e-mail address": ("email", None, "1"),
    "e-mail 2 address": ("email", None, "2"),
    "e-mail 3 address": ("email", None, "3"),
    "anniversary": ("event", "anniversary", "anniversary"),
    "birthday": ("event", "birthday", "birthday"),
    "categories": ("tags", ";", None),
    "notes": ("notes", None, None),
    "web page": ("website", None, "1"),
    "spouse": ("related", "spouse", None),
    "children": ("related", "child", None),
    "assistant's name": ("related", "assistant", None),
    "manager's name": ("related", "manager", None),
    "referred by": ("field", "referred by", None),
}
#: Outlook's own columns that say nothing about the person (the address's type, a name made
#: of name and address), and the values that are Outlook's defaults, not a choice
_OUTLOOK_IGNORED = re.compile(r"^e-mail( \d)? (type|display name)$")
OUTLOOK_DEFAULTS = {"priority": "normal", "sensitivity": "normal", "private": "false",
                    "gender": "unspecified"}  # fmt: skip
_OUTLOOK_ADDRESS = re.compile(
    r"^(business|home|other) (street|street 2|street 3|city|state|postal code|country/region|"
    r"country|po box|address po box)$"
)
_OUTLOOK_PARTS = {"state": "region", "postal code": "postal_code", "country/region": "country",
                  "street 2": "street2", "street 3": "street3", "po box": "po_box",
                  "address po box": "po_box"}  # fmt: skip


def outlook(name: str) -> Target | None:
    """A column of Outlook's CSV (English headers; others are read as plain names)."""
    if name in _OUTLOOK_SIMPLE:
        return _OUTLOOK_SIMPLE[name]
    if name in _OUTLOOK_PHONES:
        return ("phone", _OUTLOOK_PHONES[name], name)
    if _OUTLOOK_IGNORED.match(name):
        return ("ignore", "Outlook's own", None)
    match = _OUTLOOK_ADDRESS.match(name)
    if match:
        part = _OUTLOOK_PARTS.get(match.group(2), match.group(2))
        label = {"business": "work"}.get(match.group(1), match.group(1))
        return ("addr", part, label)
    return None


LINKEDIN: dict[str, Target] = {
    "first name": ("text", "first_name", None),
    "last name": ("text", "last_name", None),
    "url": ("social", "linkedin", None),
    "email address": ("email", None, "1"),
    "company": ("text", "company", None),
    "position": ("text", "title", None),
    "connected on": ("connected", None, None),
}

_OWN_GROUP = re.compile(
    r"^(email|phone|url|handle|related|invalid|address)_(\d+)(?:_(label|service|kind|uid|"
    r"field|street|city|region|postal_code|country|po_box|extended))?$"
)
_OWN_SIMPLE: dict[str, Target] = {
    "uid": ("uid", None, None),
    "birthday": ("event", "birthday", "birthday"),
    "anniversary": ("event", "anniversary", "anniversary"),
    "tags": ("tags", ",", None),
    "notes": ("notes", None, None),
    "photo": ("photo", None, None),
    "vcard": ("vcard", None, None),
    "created_at": ("created_at", None, None),
    "updated_at": ("updated_at", None, None),
    "cadence_days": ("cadence", None, None),
    "referred_by_uid": ("referred_by", None, None),
    "website": ("website", None, "legacy"),
    **{part: ("addr", part, "legacy") for part in ("street", "city", "region", "postal_code",
                                                    "country")},
    **dict.fromkeys(("id", "name", "referred_by"), ("ignore", "crmcli's own", None)),
}  # fmt: skip


def own(header: str, text_fields: tuple[str, ...]) -> Target | None:
    """A column of crmcli's own export (``crm export contacts``)."""
    name = key(header)
    if name in text_fields:
        return ("text", name, None)
    match = _OWN_GROUP.match(name)
    if match:
        kind, number, role = match.groups()
        kind = {"url": "website", "address": "addr"}.get(kind, kind)
        if kind == "addr":
            return ("addr_label", None, number) if role == "label" else ("addr", role, number)
        if kind == "website" and role == "label":
            return ("url_label", None, number)
        return (f"{kind}_{role}" if role else kind, None, number)
    kept = " ".join(header.split()).partition(":")[2].strip()  # the name's own case
    if name.startswith("field:"):
        return ("field", kept, None)
    if name.startswith("date:"):
        return ("event", kept, name)
    return _OWN_SIMPLE.get(name)


def detect_format(header: list[str]) -> str:
    """Which exporter wrote this header: google, outlook, linkedin, crmcli or generic."""
    keys = {key(h) for h in header}
    if {"uid", "name", "first_name", "last_name"} <= keys:
        return "crmcli"
    if {"first name", "last name", "url", "email address", "connected on"} <= keys:
        return "linkedin"
    if "e-mail address" in keys and keys & {"business phone", "job title", "home street"}:
        return "outlook"
    if any(_GOOGLE_GROUP.match(k) for k in keys) or {"given name", "family name"} <= keys:
        return "google"
    if {"primary email", "birth year", "display name"} <= keys:
        return "thunderbird"
    if keys & {"email home", "email work", "phone home", "phone mobile"}:
        return "roundcube"
    return "generic"


FORMAT_NAMES = {
    "google": "Google Contacts",
    "outlook": "Outlook",
    "linkedin": "LinkedIn connections",
    "thunderbird": "Thunderbird",
    "roundcube": "Roundcube",
    "crmcli": "crmcli export",
    "generic": "CSV",
}
