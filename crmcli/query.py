"""The query language: one small language for every place that selects contacts.

    tag:vip company:acme -tag:former "free text" spent>5000EUR last-touch>90d
    (rfm:champions or rfm:loyal) and not city:berlin

A query is parsed once into a tree of :class:`Node` objects (terms joined by ``and``, ``or``,
``not`` and parentheses; two terms side by side mean ``and``; ``-term`` is ``not term``), then
compiled into one SQL boolean expression over ``contacts c`` with every value a bound parameter.
Each term is an index seek or range where the schema has one (tags, emails, names, companies,
cities, fields, referrals, purchases, yearly dates). Every term compiles to an expression that
is true or false, never NULL, so a query and its ``not`` always split the contacts in two.

The terms are documented in docs/query.md; :data:`TERMS` is the list. Errors point at the word
that is wrong (:class:`QueryError` carries its position) and suggest the closest known word.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from crmcli.contacts import LAST_TOUCH_SQL
from crmcli.errors import UsageError

#: term name -> what it matches (the help and the error suggestions come from here)
TERMS: dict[str, str] = {
    "tag": "has the tag (any case)",
    "name": "the name starts with the text",
    "company": "the company starts with the text",
    "title": "the job title starts with the text",
    "city": "the city of any of the addresses starts with the text",
    "region": "the region of any of the addresses starts with the text",
    "country": "the country of any of the addresses starts with the text",
    "postal-code": "the postal code of any of the addresses starts with the text",
    "source": "the source starts with the text",
    "email": "an email starts with the text; @domain: an email at that domain",
    "bought": "bought a product whose name starts with the text (* for anything)",
    "spent": "total of purchases in one currency: spent>5000EUR, spent<=100 (>, >=, <, <=, =)",
    "last-touch": "days since the last note, call, email, meeting: last-touch>90d, :never",
    "last-purchase": "days since the last purchase: last-purchase<30d, :never",
    "rfm": "the RFM segment: rfm:champions, rfm:at-risk... (see crm customers)",
    "birthday": "today, tomorrow, this-week, next-week, this-month, next-month or a month",
    "anniversary": "like birthday",
    "stage": "has a deal in this stage (crm stage list)",
    "referred-by": "was referred by this contact (an id, name or email)",
    "field": "a field equals: field:region=emea, field:territory=north; field:KEY: has one",
    "segment": "matches the saved segment (crm segment list)",
    "invalid": "has a flagged value: invalid:email, invalid:phone, invalid:birthday; invalid:any",
}
#: terms compared with a number instead of a colon
_COMPARED = ("spent", "last-touch", "last-purchase")
_TEXT_COLUMNS = {
    "name": "name",
    "company": "company",
    "title": "title",
    "source": "source",
}
#: terms over the parts of every address of a contact (contact_addresses)
_ADDRESS_COLUMNS = {
    "city": "city",
    "region": "region",
    "country": "country",
    "postal-code": "postal_code",
}
_KEYWORDS = ("and", "or", "not")
_OPERATORS = (">=", "<=", ">", "<", "=", ":")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<paren>[()])
    | (?P<neg>-)?"(?P<quoted>(?:[^"\\]|\\.)*)(?P<closed>"?)
    | (?P<neg2>-)?(?P<key>[A-Za-z][A-Za-z-]*?)(?P<op>>=|<=|>|<|=|:)
        (?:"(?P<qvalue>(?:[^"\\]|\\.)*)(?P<qclosed>"?)|(?P<value>[^\s()]*))
    | (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)


class QueryError(UsageError):
    """A query that cannot be understood: the message says why, the hint points at the word."""

    def __init__(self, message: str, query: str, start: int, end: int) -> None:
        width = max(1, end - start)
        pointer = " " * start + "^" * width
        super().__init__(f"query: {message}", hint=f"  {query}\n  {pointer}")
        self.start = start
        self.end = end


# --- the tree -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A piece of a query; ``start``/``end`` locate it in the text (for errors)."""

    start: int
    end: int


@dataclass(frozen=True)
class Term(Node):
    """``key OP value``: ``tag:vip``, ``spent>5000EUR``."""

    key: str
    op: str
    value: str


@dataclass(frozen=True)
class Text(Node):
    """Free text: a word (matched as a prefix) or a quoted phrase, over the search index."""

    text: str
    phrase: bool = False


@dataclass(frozen=True)
class Not(Node):
    node: Node


@dataclass(frozen=True)
class And(Node):
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class _Token:
    kind: str  # paren, keyword, term, text
    start: int
    end: int
    value: str = ""
    key: str = ""
    op: str = ""
    negated: bool = False
    phrase: bool = False


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _tokens(query: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        match = _TOKEN.match(query, pos)
        if match is None or match.end() == pos:  # pragma: no cover - the word branch takes all
            raise QueryError("cannot read this", query, pos, len(query))
        start = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
        end = match.end()
        pos = end
        if match.group("paren"):
            out.append(_Token("paren", start, end, match.group("paren")))
        elif match.group("quoted") is not None:
            if not match.group("closed"):
                raise QueryError('a quote is never closed (add the closing ")', query, start, end)
            text = _unquote(match.group("quoted"))
            out.append(
                _Token("text", start, end, text, negated=bool(match.group("neg")), phrase=True)
            )
        elif match.group("key") is not None:
            quoted = match.group("qvalue")
            if quoted is not None and not match.group("qclosed"):
                raise QueryError('a quote is never closed (add the closing ")', query, start, end)
            value = _unquote(quoted) if quoted is not None else match.group("value")
            out.append(
                _Token(
                    "term",
                    start,
                    end,
                    value,
                    key=match.group("key").lower(),
                    op=match.group("op"),
                    negated=bool(match.group("neg2")),
                )
            )
        else:
            word = match.group("word")
            if re.match(r"--[A-Za-z]", word):
                raise QueryError(
                    f"{word} is not an option of this command nor a query word (see --help)",
                    query,
                    start,
                    end,
                )
            if word.lower() in _KEYWORDS:
                out.append(_Token("keyword", start, end, word.lower()))
            elif word.startswith("-") and len(word) > 1:
                out.append(_Token("text", start, end, word[1:], negated=True))
            else:
                out.append(_Token("text", start, end, word))
    return out


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.pos = 0

    def error(self, message: str, token: _Token | None = None) -> QueryError:
        if token is None:
            return QueryError(message, self.query, len(self.query), len(self.query) + 1)
        return QueryError(message, self.query, token.start, token.end)

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node | None:
        if not self.tokens:
            return None
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise self.error("this closing parenthesis has no opening one", extra)
        return node

    def or_expr(self) -> Node:
        nodes = [self.and_expr()]
        while (
            (token := self.peek()) is not None and token.kind == "keyword" and token.value == "or"
        ):
            self.take()
            nodes.append(self.and_expr())
        return nodes[0] if len(nodes) == 1 else Or(nodes[0].start, nodes[-1].end, tuple(nodes))

    def and_expr(self) -> Node:
        nodes = [self.unary()]
        while (token := self.peek()) is not None and not (
            token.kind == "keyword" and token.value == "or"
        ):
            if token.kind == "paren" and token.value == ")":
                break
            if token.kind == "keyword" and token.value == "and":
                self.take()
            nodes.append(self.unary())
        return nodes[0] if len(nodes) == 1 else And(nodes[0].start, nodes[-1].end, tuple(nodes))

    def unary(self) -> Node:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            raise self.error(f"{last.value!r} needs something after it")
        if token.kind == "keyword":
            if token.value != "not":
                raise self.error(f"{token.value!r} needs a condition before it", token)
            self.take()
            inner = self.unary()
            return Not(token.start, inner.end, inner)
        if token.kind == "paren":
            if token.value == ")":
                raise self.error("empty parentheses, or a ')' too many", token)
            self.take()
            inner = self.or_expr()
            closing = self.peek()
            if closing is None or closing.value != ")" or closing.kind != "paren":
                raise self.error("this parenthesis is never closed (add a ')')", token)
            self.take()
            return inner
        self.take()
        node: Node
        if token.kind == "term":
            node = self.term(token)
        else:
            node = Text(token.start, token.end, token.value, token.phrase)
        return Not(token.start, token.end, node) if token.negated else node

    def term(self, token: _Token) -> Term:
        key = token.key
        if key not in TERMS:
            suggestion = _suggest(key, TERMS)
            raise self.error(
                f'unknown term {key!r}{suggestion} (put text with a colon in quotes: "{key}:...")',
                token,
            )
        if key in _COMPARED and token.op == "=" and key != "spent":
            raise self.error(f"{key} takes > or < and a number of days: {key}>90d", token)
        if key not in _COMPARED and token.op != ":":
            raise self.error(f"{key} takes a colon: {key}:VALUE", token)
        if key == "spent" and token.op == ":":
            raise self.error("spent takes a comparison: spent>5000EUR, spent<=100", token)
        if not token.value.strip():
            raise self.error(f"{key}{token.op} needs a value", token)
        return Term(token.start, token.end, key, token.op, token.value.strip())


def _suggest(word: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word.lower(), [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def parse(query: str) -> Node | None:
    """The tree of ``query``; None for an empty query (it matches every contact)."""
    return _Parser(query).parse()


# --- compiling ----------------------------------------------------------------------------------


@dataclass
class Context:
    """What compiling needs besides the text: the database (segments, stages, references), the
    local date "today" (for day counts and birthdays) and the currency of ``spent>5000``."""

    conn: sqlite3.Connection
    today: date
    currency: str | None = None
    query: str = ""
    #: segments being expanded (a segment that uses itself is an error, not a loop)
    expanding: tuple[str, ...] = ()
    params: list[Any] = field(default_factory=list)

    def error(self, message: str, node: Node) -> QueryError:
        return QueryError(message, self.query, node.start, node.end)


Compiler = Callable[[Term, Context], str]


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_column(term: Term, ctx: Context) -> str:
    column = _TEXT_COLUMNS[term.key]
    ctx.params.append(_like_prefix(term.value))
    return f"(c.{column} IS NOT NULL AND c.{column} LIKE ? ESCAPE '\\')"


def _address(term: Term, ctx: Context) -> str:
    column = _ADDRESS_COLUMNS[term.key]
    ctx.params.append(_like_prefix(term.value))
    # city, region and country compare without case (their columns' collation): an index range
    return f"c.id IN (SELECT contact_id FROM contact_addresses WHERE {column} LIKE ? ESCAPE '\\')"


def _invalid(term: Term, ctx: Context) -> str:
    if term.value.lower() in ("any", "*", ""):
        return "c.id IN (SELECT contact_id FROM contact_invalid)"
    ctx.params.append(term.value.lower())
    return "c.id IN (SELECT contact_id FROM contact_invalid WHERE field = ?)"


def _tag(term: Term, ctx: Context) -> str:
    ctx.params.append(term.value)
    return (
        "c.id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id "
        "WHERE t.name = ?)"
    )


def _email(term: Term, ctx: Context) -> str:
    value = term.value
    if value.startswith("@"):
        ctx.params.append("%" + _like_prefix(value)[:-1])
    else:
        ctx.params.append(_like_prefix(value))
    return "c.id IN (SELECT contact_id FROM contact_emails WHERE email LIKE ? ESCAPE '\\')"


def _bought(term: Term, ctx: Context) -> str:
    if term.value in ("*", "any"):
        return "c.id IN (SELECT contact_id FROM purchase_totals)"
    ctx.params.append(_like_prefix(term.value))
    return (
        "c.id IN (SELECT contact_id FROM purchases WHERE deleted_at IS NULL "
        "AND product LIKE ? ESCAPE '\\')"
    )


_SQL_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "="}
_AMOUNT = re.compile(r"^(\d[\d,]*(?:\.\d+)?)\s*([A-Za-z]{3})?$")


def _spent(term: Term, ctx: Context) -> str:
    from crmcli import money

    match = _AMOUNT.match(term.value)
    if not match:
        raise ctx.error(
            f"{term.value!r} is not an amount with an optional currency (spent>5000EUR)", term
        )
    try:
        code = money.currency_code(match.group(2)) if match.group(2) else _currency(ctx)
        minor = money.parse_amount(match.group(1), code, what="spent")
    except UsageError:
        raise
    except Exception as error:  # a ValidationError: say where
        raise ctx.error(str(error), term) from None
    ctx.params.extend([code, minor])
    # purchase_totals: one row per customer and currency, kept by triggers
    return (
        "coalesce((SELECT t.total_minor FROM purchase_totals t WHERE t.contact_id = c.id "
        f"AND t.currency = ?), 0) {_SQL_OPS[term.op]} ?"
    )


def _currency(ctx: Context) -> str:
    if ctx.currency is None:
        from crmcli import money, purchases

        ctx.currency = purchases.main_currency(ctx.conn, money.DEFAULT_CURRENCY)
    return ctx.currency


def _days(term: Term, ctx: Context) -> int:
    from crmcli.dates import parse_days

    try:
        return parse_days(term.value)
    except UsageError:
        raise ctx.error(
            f"{term.value!r} is not a number of days (90d, 2w, 3m, 1y) or 'never'", term
        ) from None


def _age(term: Term, ctx: Context, last: str, *, as_timestamp: bool) -> str:
    """A "days ago" comparison of ``last`` (the latest moment, NULL for never). Never counts as
    longer ago than any number of days: it matches > and >=, never < or <=."""
    if term.value.lower() == "never" and term.op == ":":
        return f"{last} IS NULL"
    if term.op == ":":
        raise ctx.error(f"{term.key} takes > or < and a number of days: {term.key}>90d", term)
    days = _days(term, ctx)
    # days since the day of `last` > N  <=>  that day is before today - N
    first_day = {
        ">": ctx.today - timedelta(days=days),
        ">=": ctx.today - timedelta(days=days - 1),
        "<": ctx.today - timedelta(days=days - 1),
        "<=": ctx.today - timedelta(days=days),
    }[term.op]
    if as_timestamp:
        from crmcli.clock import to_utc_text

        bound = to_utc_text(datetime.combine(first_day, time()))
    else:
        bound = first_day.isoformat()
    ctx.params.append(bound)
    if term.op in (">", ">="):
        return f"coalesce({last}, '') < ?"
    return f"coalesce({last}, '') >= ?"


LAST_PURCHASE_SQL = "(SELECT max(t.last_on) FROM purchase_totals t WHERE t.contact_id = c.id)"


def _last_touch(term: Term, ctx: Context) -> str:
    return _age(term, ctx, LAST_TOUCH_SQL, as_timestamp=True)


def _last_purchase(term: Term, ctx: Context) -> str:
    return _age(term, ctx, LAST_PURCHASE_SQL, as_timestamp=False)


def _rfm(term: Term, ctx: Context) -> str:
    from crmcli import rfm

    name = rfm.segment_name(term.value)
    if name is None:
        raise ctx.error(
            f"no RFM segment {term.value!r}{_suggest(term.value, rfm.SEGMENT_NAMES)} "
            f"(segments: {', '.join(rfm.SEGMENT_NAMES)})",
            term,
        )
    # Scored once for the whole run (every rfm: term, in saved segments too), not per term or
    # per statement: RFM ranks every customer against all the others.
    table = rfm.segment_table(ctx.conn, ctx.today)
    ctx.params.append(name)
    return f"c.id IN (SELECT contact_id FROM {table} WHERE segment = ?)"


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")  # fmt: skip


def _yearly(term: Term, ctx: Context) -> str:
    days = _yearly_days(term.value.lower(), ctx.today)
    if days is None:
        raise ctx.error(
            f"{term.key}:{term.value} is not a period (today, tomorrow, this-week, next-week, "
            "this-month, next-month, or a month: april)",
            term,
        )
    pairs = sorted({(d.month, d.day) for d in days})
    if any((d.month, d.day) == (2, 28) for d in days) and not any(
        (d.month, d.day) == (2, 29) for d in days
    ):
        pairs.append((2, 29))  # in a year without Feb 29, those birthdays fall on Feb 28
    ctx.params.append(term.key)
    placeholders = ", ".join("(?, ?)" for _ in pairs)
    for pair in pairs:
        ctx.params.extend(pair)
    return (
        "c.id IN (SELECT contact_id FROM contact_dates WHERE kind = ? "
        f"AND (month, day) IN (VALUES {placeholders}))"
    )


def _yearly_days(word: str, today: date) -> list[date] | None:
    def span(start: date, count: int) -> list[date]:
        return [start + timedelta(days=i) for i in range(count)]

    def month_days(year: int, month: int) -> list[date]:
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return span(first, (following - first).days)

    monday = today - timedelta(days=today.weekday())
    words: dict[str, Callable[[], list[date]]] = {
        "today": lambda: [today],
        "tomorrow": lambda: [today + timedelta(days=1)],
        "this-week": lambda: span(monday, 7),
        "next-week": lambda: span(monday + timedelta(days=7), 7),
        "this-month": lambda: month_days(today.year, today.month),
        "next-month": lambda: month_days(today.year + today.month // 12, today.month % 12 + 1),
    }
    if word in words:
        return words[word]()
    for number, name in enumerate(_MONTHS, 1):
        if len(word) >= 3 and name.startswith(word):
            return month_days(2000, number)  # a leap year: every day of the month
    return None


def _stage(term: Term, ctx: Context) -> str:
    names = [r[0] for r in ctx.conn.execute("SELECT name FROM stages ORDER BY position")]
    if not any(n.lower() == term.value.lower() for n in names):
        raise ctx.error(
            f"no stage {term.value!r}{_suggest(term.value, names)} (stages: {', '.join(names)})",
            term,
        )
    ctx.params.append(term.value)
    return (
        "c.id IN (SELECT d.contact_id FROM deals d JOIN stages s ON s.id = d.stage_id "
        "WHERE d.deleted_at IS NULL AND s.name = ?)"
    )


def _referred_by(term: Term, ctx: Context) -> str:
    from crmcli import contacts
    from crmcli.errors import CrmError

    try:
        referrer = contacts.resolve(ctx.conn, term.value)
    except CrmError as error:
        raise ctx.error(error.message, term) from None
    ctx.params.append(referrer)
    return "(c.referred_by_id IS NOT NULL AND c.referred_by_id = ?)"


def _field(term: Term, ctx: Context) -> str:
    key, sep, value = term.value.partition("=")
    if not key.strip():
        raise ctx.error("field: needs a name: field:region=emea", term)
    from crmcli.contacts import ADDRESS_PARTS, TEXT_FIELDS

    column = key.strip().lower().replace("-", "_")
    if column in ADDRESS_PARTS:  # a part of any address
        if not sep:
            return f"c.id IN (SELECT contact_id FROM contact_addresses WHERE {column} IS NOT NULL)"
        ctx.params.append(value.strip())
        return (
            f"c.id IN (SELECT contact_id FROM contact_addresses WHERE {column} = ? COLLATE NOCASE)"
        )
    if column in TEXT_FIELDS:  # a built-in field (region, postal_code...): its column, any case
        if not sep:
            return f"c.{column} IS NOT NULL"
        ctx.params.append(value.strip())
        return f"(c.{column} IS NOT NULL AND c.{column} = ? COLLATE NOCASE)"
    ctx.params.append(key.strip())
    if not sep:
        return "c.id IN (SELECT contact_id FROM contact_fields WHERE key = ?)"
    ctx.params.append(value.strip())
    return (
        "c.id IN (SELECT contact_id FROM contact_fields WHERE key = ? AND value = ? COLLATE NOCASE)"
    )


def _segment(term: Term, ctx: Context) -> str:
    from crmcli import segments

    name = term.value
    saved = segments.find(ctx.conn, name)
    if saved is None:
        known = segments.names(ctx.conn)
        listed = f" (saved: {', '.join(known)})" if known else " (none saved: crm segment add)"
        raise ctx.error(f"no segment {name!r}{_suggest(name, known)}{listed}", term)
    if saved.name.lower() in ctx.expanding:
        raise ctx.error(f"segment {saved.name!r} uses itself", term)
    try:
        inner = parse(saved.query)
    except QueryError as error:
        raise ctx.error(f"segment {saved.name!r} is broken: {error.message}", term) from None
    if inner is None:
        return "1"
    nested = Context(
        ctx.conn,
        ctx.today,
        ctx.currency,
        saved.query,
        (*ctx.expanding, saved.name.lower()),
        ctx.params,
    )
    try:
        return _compile(inner, nested)
    except QueryError as error:
        raise ctx.error(f"segment {saved.name!r}: {error.message}", term) from None


_COMPILERS: dict[str, Compiler] = {
    **dict.fromkeys(_TEXT_COLUMNS, _text_column),
    **dict.fromkeys(_ADDRESS_COLUMNS, _address),
    "invalid": _invalid,
    "tag": _tag,
    "email": _email,
    "bought": _bought,
    "spent": _spent,
    "last-touch": _last_touch,
    "last-purchase": _last_purchase,
    "rfm": _rfm,
    "birthday": _yearly,
    "anniversary": _yearly,
    "stage": _stage,
    "referred-by": _referred_by,
    "field": _field,
    "segment": _segment,
}


def _free_text(node: Text, ctx: Context) -> str:
    words = re.findall(r"\w+", node.text)
    if not words:
        raise ctx.error(f"{node.text!r} has no letters or digits to look for", node)
    # Quoted: the words in this order; a bare word: as a prefix. FTS5 syntax is never passed
    # through: each word is quoted.
    match = '"' + " ".join(words) + '"' if node.phrase else " ".join(f'"{w}"*' for w in words)
    ctx.params.append(match)
    return "c.id IN (SELECT rowid FROM contact_search WHERE contact_search MATCH ?)"


def _compile(node: Node, ctx: Context) -> str:
    if isinstance(node, Term):
        return _COMPILERS[node.key](node, ctx)
    if isinstance(node, Text):
        return _free_text(node, ctx)
    if isinstance(node, Not):
        return f"NOT ({_compile(node.node, ctx)})"
    if isinstance(node, And):
        return "(" + " AND ".join(_compile(n, ctx) for n in node.nodes) + ")"
    assert isinstance(node, Or)
    return "(" + " OR ".join(_compile(n, ctx) for n in node.nodes) + ")"


@dataclass(frozen=True)
class Compiled:
    """A query as SQL: ``sql`` is a boolean expression over ``contacts c``; ``params`` its values."""

    sql: str
    params: tuple[Any, ...]
    text: str


def compile_query(
    conn: sqlite3.Connection, text: str, *, today: date, currency: str | None = None
) -> Compiled:
    """Parse and compile ``text``; an empty query is ``1`` (every contact).

    ``currency`` is what ``spent>5000`` means without a code (default: the currency most
    purchases are in).
    """
    node = parse(text)
    if node is None:
        return Compiled("1", (), text)
    ctx = Context(conn, today, currency, text)
    return Compiled(_compile(node, ctx), tuple(ctx.params), text)


def contact_ids_sql(
    conn: sqlite3.Connection, text: str, *, today: date, currency: str | None = None
) -> tuple[str, tuple[Any, ...]]:
    """``SELECT c.id FROM contacts c WHERE ...``: the live contacts matching ``text``, as a
    subquery any command can use (``... WHERE contact_id IN (<this>)``), with its parameters."""
    compiled = compile_query(conn, text, today=today, currency=currency)
    return (
        f"SELECT c.id FROM contacts c WHERE c.deleted_at IS NULL AND ({compiled.sql})",
        compiled.params,
    )


_SYNTAX = r"""(?:^|[\s(])-?[A-Za-z][A-Za-z-]*(?:[:<>=])|[()"]|(?i:(?:^|\s)(?:and|or|not)\s)"""


def join_words(words: list[str]) -> str:
    """Command-line words back into one query. One word is the query as typed
    (``crm search "ann acme"``); among several, a word with a space that has no query syntax came
    from shell quotes and stays one phrase (``crm contact list tag:vip "free text"``)."""
    if len(words) == 1:
        return words[0]
    out = []
    for word in words:
        if any(ch.isspace() for ch in word) and not re.search(_SYNTAX, word):
            out.append('"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            out.append(word)
    return " ".join(out)


def is_plain_text(node: Node | None) -> bool:
    """Only words and phrases, all required (what ``crm search`` ranks by relevance)."""
    if isinstance(node, Text):
        return True
    return isinstance(node, And) and all(isinstance(n, Text) for n in node.nodes)
