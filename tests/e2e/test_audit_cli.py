"""`padron audit` as an officer of the data-protection authority uses it."""

from __future__ import annotations

import sqlite3

from padron.audit.checkpoint import Verifier, open_checkpoint
from tests.e2e.conftest import Cli

ADD = ["person", "add", "--given", "Juan", "--first-surname", "Hernández", "--birth", "1990-05-17",
       "--sex", "H", "--state", "DF", "--json"]  # fmt: skip


def test_accesses_are_listed_signed_and_tampering_is_named(initialized_cli: Cli) -> None:
    cli = initialized_cli
    curp = cli(*ADD).json["curp"]
    other = cli(*ADD).json["curp"]
    assert cli("person", "show", curp).code == 0
    assert cli("person", "update", curp, "--set", "birth_date=1990-05-18", "--reason", "acta").code == 0

    log = cli("audit", "log", "--curp", curp, "--json").json["entries"]
    # newest first; looking the record up for the audit is itself an access, with purpose audit
    actions = [(e["action"], e["purpose"]) for e in log]
    assert actions == [
        ("person.read", "audit"),
        ("person.update", "correction"),
        ("person.curps", "administration"),
        ("person.read", "administration"),
        ("person.create", "enrollment"),
    ]
    assert {e["actor"] for e in log} == {"test:officer"} and {e["channel"] for e in log} == {"cli"}
    assert other not in str(log)  # the other person's record is not in this history

    note = cli("audit", "checkpoint", "--json").json["checkpoint"]
    vkey = cli("audit", "key", "--json").json["vkey"]
    opened = open_checkpoint(note, [Verifier.from_vkey(vkey)])
    # 2 enrollments, read + former CURPs, the correction, the audit's lookup and its reading of the log
    assert opened.checkpoint.size == 7
    assert cli("audit", "export", "--json").json["checkpoints"] == [note]
    assert cli("audit", "verify").code == 0

    with sqlite3.connect(cli.database) as db:  # someone edits an entry behind padron's back
        (entry,) = db.execute("SELECT entry FROM audit_entries WHERE seq = 3").fetchone()
        db.execute(
            "UPDATE audit_entries SET entry = ? WHERE seq = 3", (entry.replace(b"officer", b"0fficer"),)
        )
    refused = cli("audit", "verify", "--json")
    assert refused.code == 1 and refused.json["error"]["code"] == "PAD-AUDIT-103"
    kinds = {(f["kind"], f["index"]) for f in refused.json["error"]["details"]["findings"]}
    assert ("edited", 3) in kinds
