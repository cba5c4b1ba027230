"""The `padron` command line.

Every command prints human-readable text by default and one JSON object with ``--json``.
A :class:`PadronError` becomes its code and message on stderr (or an ``{"error": ...}`` object
with ``--json``) and exit status 1, a usage error PAD-CLI-001 and exit status 2; the exit
statuses of outcomes (duplicate, pending adjudication, no match) are in :mod:`padron.cli.exits`.
Nothing a user types produces a traceback.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from typing import Any

import typer
import typer.main
from typer.exceptions import TyperException

from padron.cli.exits import ExitStatus
from padron.cli.output import err_console, report_error
from padron.domain.errors import InternalError, PadronError


def build_app() -> typer.Typer:
    """The command tree (built on demand, so `import padron.cli.main` stays light)."""
    from padron.cli import (
        audit_cmd,
        biometric_cmd,
        curp_cmd,
        customs_cmd,
        demo_cmd,
        evaluate_cmd,
        face_cmd,
        gateway_cmd,
        keys_cmd,
        nist_cmd,
        person_cmd,
        serve_cmd,
        sharing_cmd,
        synth_cmd,
    )

    app = typer.Typer(
        name="padron",
        help="padron: unified biometric identification -- registry, CURP, 1:N de-duplication.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.add_typer(curp_cmd.app, name="curp")
    app.add_typer(person_cmd.app, name="person")
    app.add_typer(evaluate_cmd.app, name="evaluate")
    app.add_typer(synth_cmd.app, name="synth")
    app.add_typer(face_cmd.app, name="face")
    app.add_typer(audit_cmd.app, name="audit")
    app.command("init")(person_cmd.init)
    app.command("demo")(demo_cmd.demo)
    app.command("enroll")(biometric_cmd.enroll)
    app.command("verify")(biometric_cmd.verify)
    app.command("identify")(biometric_cmd.identify)
    app.add_typer(biometric_cmd.adjudication_app, name="adjudication")
    app.add_typer(biometric_cmd.gallery_app, name="gallery")
    app.add_typer(keys_cmd.app, name="keys")
    app.add_typer(gateway_cmd.app, name="gateway")
    # the name for the same commands: `padron request ask|fetch|requests|approve|...`
    app.add_typer(gateway_cmd.app, name="request", help="The same as `padron gateway`.")
    app.add_typer(customs_cmd.app, name="customs")
    app.add_typer(sharing_cmd.partner_app, name="partner")
    app.add_typer(sharing_cmd.agreement_app, name="agreement")
    app.add_typer(nist_cmd.app, name="nist")
    app.command("serve")(serve_cmd.serve)
    return app


class UsageError(PadronError):
    code = "PAD-CLI-001"
    summary = "The command line is malformed: an unknown option, a missing or malformed argument."


class ArgumentEncodingError(PadronError):
    code = "PAD-CLI-002"
    summary = "A command-line argument is not valid UTF-8 text (bytes the terminal could not decode)."


def _check_encoding(args: list[str]) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates; refuse them before any use."""
    for number, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ArgumentEncodingError(
                f"argument {number} is not valid UTF-8 text (an undecodable byte at position "
                f"{error.start + 1}); check the terminal's encoding",
                argument=number,
            ) from None


@functools.cache
def _command() -> Any:
    """The click command of the tree, built once per process (Typer's introspection of every
    command's signature takes some 70 ms; a process that calls main() many times pays it once)."""
    return typer.main.get_command(build_app())


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; exits with an ExitStatus (padron.cli.exits)."""
    command = _command()
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    try:
        _check_encoding(args)
    except PadronError as error:
        report_error(error, as_json=as_json)
        raise SystemExit(ExitStatus.USAGE) from None
    try:
        # not standalone: usage errors reach us and get a code; --help and typer.Exit return a status
        status = command.main(args=args, prog_name="padron", standalone_mode=False)
    except PadronError as error:
        report_error(error, as_json=as_json)
        raise SystemExit(ExitStatus.ERROR) from None
    except typer.Abort:
        raise SystemExit(130) from None
    except TyperException as error:  # Typer's usage errors (unknown option, bad value, ...)
        if not error.format_message():  # a command group called bare: its help was printed
            raise SystemExit(ExitStatus.USAGE) from None
        context = getattr(error, "ctx", None)
        if context is not None and not as_json:
            err_console.print(context.get_usage(), markup=False)
            err_console.print(f"Try '{context.command_path} --help' for help.", markup=False)
        report_error(UsageError(error.format_message()), as_json=as_json)
        raise SystemExit(ExitStatus.USAGE) from None
    except Exception as error:
        logging.getLogger("padron").debug("internal error", exc_info=True)
        internal = InternalError(
            f"unexpected {type(error).__name__}: {error}",
            trace=traceback.format_exception_only(type(error), error)[-1].strip(),
        )
        report_error(internal, as_json=as_json)
        raise SystemExit(ExitStatus.INTERNAL) from None
    raise SystemExit(status if isinstance(status, int) else ExitStatus.OK)


if __name__ == "__main__":
    main()
