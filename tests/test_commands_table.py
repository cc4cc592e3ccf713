"""One table (bot/commands.py) names every command and button prefix: what the application
registers, what the guard lets through, and the menu all come from it."""

from __future__ import annotations

import re

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot import callbacks, commands
from bot.commands import BUTTONS, COMMANDS, Role
from bot.handlers import guard


def flattened(handlers: list[BaseHandler]) -> list[BaseHandler]:
    """Every handler, those inside dialogs included."""
    found: list[BaseHandler] = []
    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            inner = [*handler.entry_points, *handler.fallbacks]
            inner += [h for state in handler.states.values() for h in state]
            found += flattened(inner)
        else:
            found.append(handler)
    return found


def registered(app) -> list[BaseHandler]:
    return flattened([h for group in app.handlers.values() for h in group])


def patterns(app) -> list[re.Pattern[str]]:
    return [
        h.pattern
        for h in registered(app)
        if isinstance(h, CallbackQueryHandler) and isinstance(h.pattern, re.Pattern)
    ]


async def test_every_registered_command_is_in_the_table_and_every_command_there_is_registered(h):
    handlers = [handler for handler in registered(h.app) if isinstance(handler, CommandHandler)]

    names = {name for handler in handlers for name in handler.commands}
    assert names == commands.all_names()


async def test_every_button_pattern_takes_data_of_the_table_and_every_prefix_has_a_handler(h):
    examples = {example: b.prefix for b in BUTTONS for example in b.examples}
    found = patterns(h.app)

    unknown = [p.pattern for p in found if not any(p.match(e) for e in examples)]
    unhandled = [e for e in examples if not any(p.match(e) for p in found)]
    assert unknown == []
    assert unhandled == []


def test_every_example_of_the_table_decodes_to_its_own_prefix():
    for button in BUTTONS:
        for example in button.examples:
            decoded = callbacks.decode(example)

            assert decoded is not None, example
            assert decoded.action == button.prefix, example


def test_the_guard_lists_follow_the_roles_of_the_table():
    admin = {c.german for c in COMMANDS if Role.ADMIN in c.roles}

    assert {"kurs_neu", "status", "teilnehmer", "hilfe"} <= admin
    assert commands.all_names(tuple(admin)) == guard.ADMIN_COMMANDS
    assert commands.all_names(("start", "abbrechen", "datenschutz")) == guard.BEFORE_JOINING
    assert {"skip", "agree", "abort"} == guard.BEFORE_JOINING_BUTTONS
    known = {"ka", "kq", "zc", "csv", "pdf", "tl", "pl", "plc", "no", "nk", "nky", "nkd"}
    attendance = {"ad", "at", "ci"}  # issue 18
    assert known | attendance == set(guard.ADMIN_BUTTONS)
    assert "mitteilungen" not in {c.german for c in COMMANDS if Role.ADMIN in c.roles}


def test_the_menu_lists_the_officers_commands_in_the_order_of_the_table():
    assert [german for german, _ in commands.menu()] == [
        "kurse",
        "meine",
        "profil",
        "sprache",
        "hilfe",
    ]
