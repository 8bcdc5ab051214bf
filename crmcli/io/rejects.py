"""The rejects file of ``crm import --skip-invalid``: the rows or cards that could not be
imported, in the file's own format with the reason added, so they can be fixed and imported
again (a CSV row gets a ``crm_import_error`` column, a card an ``X-CRM-IMPORT-ERROR``
property, a JSON object a ``crm_import_error`` key)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from crmcli.io.csv_policy import neutralise

SUFFIXES = {"csv": ".csv", "vcf": ".vcf", "json": ".jsonl"}


def default_path(file: str, kind: str) -> Path:
    """``people.csv`` -> ``people.rejects.csv``; for stdin, ``import-rejects.csv``."""
    suffix = SUFFIXES[kind]
    if file == "-":
        return Path("import-rejects" + suffix)
    return Path(file).with_name(Path(file).stem + ".rejects" + suffix)


class RejectsFile:
    """Created at the first rejected row, through ``opener`` (a private file)."""

    def __init__(
        self,
        path: Path,
        kind: str,
        header: list[str] | None,
        opener: Callable[[Path], IO[str]],
    ) -> None:
        self.path = path
        self.kind = kind
        self.header = header
        self.opener = opener
        self.handle: IO[str] | None = None
        self.writer: Any = None

    def __call__(self, problem: Any, raw: Any) -> None:
        if self.handle is None:
            self.handle = self.opener(self.path)
            if self.kind == "csv":
                # the CSV policy of every CSV crmcli writes (formula-like cells neutralised);
                # crm import takes the ' off again when it reads a rejects file
                self.writer = csv.writer(self.handle, lineterminator="\r\n")
                self.writer.writerow([*(self.header or []), "crm_import_error"])
        reason = f"{problem.position}: {problem.reason}"
        if self.kind == "csv":
            self.writer.writerow([neutralise(c) for c in [*(raw or []), reason]])
        elif self.kind == "vcf":
            self.handle.write(_card(str(raw or ""), reason))
        else:
            self.handle.write(json.dumps(_object(raw, reason), ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _card(text: str, reason: str) -> str:
    lines = text.split("\n")
    if lines and lines[-1].strip().upper().endswith("END:VCARD"):
        lines.insert(len(lines) - 1, f"X-CRM-IMPORT-ERROR:{reason}")
    else:
        lines += [f"X-CRM-IMPORT-ERROR:{reason}", "END:VCARD"]
    return "\r\n".join(line.rstrip("\r") for line in lines) + "\r\n"


def _object(raw: Any, reason: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw) if isinstance(raw, str) else {}
    except json.JSONDecodeError:
        obj = {"raw": raw}
    if not isinstance(obj, dict):
        obj = {"raw": obj}
    obj["crm_import_error"] = reason
    return obj
