"""Maintains the gettext catalogs: ``python -m bot.catalogs update|compile|check``.

* ``update`` extracts every ``_()``/``ngettext()`` string from ``bot/`` into
  ``locales/messages.pot`` and merges it into each language's ``messages.po``;
* ``compile`` writes the ``messages.mo`` files the bot reads;
* ``check`` lists what is wrong (out of date, untranslated, fuzzy, not compiled); the tests
  and so CI run it.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALES

SOURCE = Path(__file__).parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every translatable string of the bot, as a template catalog."""
    template = Catalog(project="Kursbot", domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
        SOURCE, method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(language: str) -> Catalog:
    """The catalog of ``language`` as stored."""
    with _po_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def header(language: str) -> str:
    """The header entry of a language's catalog: its plural rule (which ``ngettext`` and
    translators need) and charset, and no dates, so that an update changes only messages."""
    plural_forms = Catalog(locale=language).plural_forms
    return (
        'msgid ""\nmsgstr ""\n'
        '"Project-Id-Version: Kursbot\\n"\n'
        f'"Language: {language}\\n"\n'
        f'"Plural-Forms: {plural_forms}\\n"\n'
        '"MIME-Version: 1.0\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n'
        '"Content-Transfer-Encoding: 8bit\\n"\n\n'
    )


def update() -> None:
    """Extracts the strings and merges them into every language's catalog."""
    template = extract()
    with (LOCALES / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True)
    for language in LANGUAGES:
        path = _po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read(language) if path.exists() else Catalog(locale=language, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        messages = io.BytesIO()
        write_po(messages, catalog, omit_header=True, sort_output=True, ignore_obsolete=True)
        path.write_bytes(header(language).encode("utf-8") + messages.getvalue())


def compile_all() -> None:
    """Writes the ``.mo`` file next to each ``.po`` file."""
    for language in LANGUAGES:
        with _po_path(language).with_suffix(".mo").open("wb") as handle:
            write_mo(handle, read(language), use_fuzzy=False)


def problems() -> list[str]:
    """Everything that keeps the catalogs from being complete and current."""
    found = []
    wanted = {m.id for m in extract() if m.id}
    for language in LANGUAGES:
        if not _po_path(language).read_text(encoding="utf-8").startswith(header(language)):
            found.append(f"{language}: {_po_path(language).name} lacks its header (Plural-Forms)")
        catalog = read(language)
        have = {m.id for m in catalog if m.id}
        found += [f"{language}: missing {_id(m)}" for m in wanted - have]
        found += [f"{language}: no longer used {_id(m)}" for m in have - wanted]
        for message in catalog:
            if not message.id:
                continue
            if message.fuzzy:
                found.append(f"{language}: fuzzy {_id(message.id)}")
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append(f"{language}: untranslated {_id(message.id)}")
        mo_path = _po_path(language).with_suffix(".mo")
        if not mo_path.exists():
            found.append(f"{language}: not compiled ({mo_path.name} missing)")
            continue
        with mo_path.open("rb") as handle:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
        current = {_key(m.id): _key(m.string) for m in catalog if m.id and not m.fuzzy}
        if compiled != current:
            found.append(f"{language}: {mo_path.name} is older than {mo_path.stem}.po")
    return found


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def _id(message_id: object) -> str:
    text = message_id[0] if isinstance(message_id, tuple) else str(message_id)
    return repr(text[:60])


def main() -> int:
    """Command-line entry point."""
    action = sys.argv[1] if len(sys.argv) > 1 else "check"
    if action == "update":
        update()
    elif action == "compile":
        compile_all()
    found = problems()
    out = io.StringIO()
    for line in found:
        print(line, file=out)
    print(out.getvalue() or "catalogs complete", end="" if found else "\n")
    return 1 if found and action == "check" else 0


if __name__ == "__main__":
    sys.exit(main())
