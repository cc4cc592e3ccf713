"""Hand mutations of the seat and planning rules: does a test fail when a rule is broken?

Each mutation replaces one short snippet of the seat rules (`kurse/registrations.py`,
`kurse/seats.py`, `kurse/promotion.py`, `kurse/quotas.py`) or the planning rules
(`kurse/schedule.py`, `kurse/tasks.py`, `kurse/claims.py`) with a version that breaks one
rule of PRODUCT.md §4, §5 or §9. The script copies the repository into a temporary folder
(never touching the working tree), checks that the chosen tests pass there unchanged, then
applies one mutation at a time, runs the tests (``-x -q``, SQLite only, with a timeout) and
reports whether a test failed ("caught").

    .venv/bin/python -m tests.mutations              # every mutation (about 15-25 minutes)
    .venv/bin/python -m tests.mutations --only newcomer_overtakes_in_the_last_day
    .venv/bin/python -m tests.mutations --list       # the list, with the rule each breaks
    .venv/bin/python -m tests.mutations --rev HEAD~3 # against the tests of an older commit

Pytest does not collect this file (its name does not start with ``test_``);
`tests/test_mutations_apply.py` checks that every snippet is still found exactly once.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The tests a mutation runs against: the rule tests first (fast, and they name the rule),
# the stateful test last (slowest; it also finds what no single test was written for).
TESTS = (
    "tests/test_registrations.py",
    "tests/test_rules.py",
    "tests/test_courses.py",
    "tests/test_course_life.py",
    "tests/test_timed_work.py",
    "tests/test_races.py",
    "tests/test_bot_officers.py",
    "tests/test_lead_news.py",
    "tests/test_invariants_stateful.py",
)

REGS, SEATS, PROMOTION, QUOTAS = (
    "kurse/registrations.py",
    "kurse/seats.py",
    "kurse/promotion.py",
    "kurse/quotas.py",
)
SCHEDULE, TASKS, CLAIMS = "kurse/schedule.py", "kurse/tasks.py", "kurse/claims.py"
OUTBOX = "kurse/outbox.py"


@dataclass(frozen=True)
class Mutation:
    """One broken rule: in ``path``, ``original`` (found exactly once) becomes ``replacement``."""

    name: str
    path: str
    original: str
    replacement: str
    rule: str
    equivalent: str = ""  # why no test can tell the difference, if none can


MUTATIONS = (
    # --- the seat rules (PRODUCT.md §4) ---------------------------------------------------
    Mutation(
        "newcomer_overtakes_in_the_last_day",
        REGS,
        "seats.free_for(agency_id) > 0 and seats.waiting_ahead_of_newcomer(agency_id) == 0",
        "seats.free_for(agency_id) > 0",
        "nobody overtakes those waiting: in the last day a freed seat is the lead's to fill",
    ),
    Mutation(
        "waiting_list_left_after_the_start",
        REGS,
        "previous != CONFIRMED and now >= course.start_at",
        "previous != CONFIRMED and now >= course.end_at",
        "leaving a waiting list is allowed until the start, not after",
    ),
    Mutation(
        "cancelled_after_the_cancellation_deadline",
        REGS,
        "previous == CONFIRMED and now >= course.cancellation_deadline",
        "previous == CONFIRMED and now >= course.start_at",
        "after the cancellation deadline a seat is not given back (whom to contact instead)",
    ),
    Mutation(
        "promoted_in_the_last_day",
        "kurse/holds.py",
        "LEAD_WINDOW = timedelta(hours=24)",
        "LEAD_WINDOW = timedelta(0)",
        "in the last 24 hours the lead is told of a free seat instead of a promotion",
    ),
    Mutation(
        "promoted_after_the_start",
        PROMOTION,
        "now < course.start_at - MANUAL_WINDOW",
        "not course.start_at - MANUAL_WINDOW <= now < course.start_at",
        "no promotion after the course has started",
    ),
    Mutation(
        "latest_waiting_promoted_first",
        PROMOTION,
        "query.order_by(col(Registration.queue_seq)).limit(free)",
        "query.order_by(col(Registration.queue_seq).desc()).limit(free)",
        "waiting lists are first come, first served",
    ),
    Mutation(
        "no_released_seats",
        SEATS,
        "if self.released:\n            return total",
        "if False:\n            return total",
        "after the release date a sign-up takes any unused seat",
    ),
    Mutation(
        "queue_per_agency_after_the_release",
        SEATS,
        "return self.waiting_total() if self.released else self.waiting.get(agency_id, 0)",
        "return self.waiting.get(agency_id, 0)",
        "after the release date the waiting list is one, across agencies",
    ),
    Mutation(
        "released_seat_not_marked",
        PROMOTION,
        "registration.via_release = own_full",
        "registration.via_release = False",
        "confirmed of an agency ≤ its quota plus the released seats it took (marked)",
    ),
    Mutation(
        "free_seat_not_reported_to_the_lead",
        PROMOTION,
        "in_window = course.status == CourseStatus.PUBLISHED and now < course.start_at",
        "in_window = False",
        "in the last 24 hours the lead is told of the free seat",
    ),
    Mutation(
        "sign_up_on_the_deadline",
        REGS,
        "if now >= locked.registration_deadline:",
        "if now > locked.registration_deadline:",
        "no sign-up from the registration deadline on",
    ),
    Mutation(
        "second_click_joins_the_back_of_the_queue",
        REGS,
        "if person.id is not None and person.status != CANCELLED:",
        "if person.id is not None and person.status == CONFIRMED:",
        "one registration per officer and course; a second click changes nothing",
    ),
    Mutation(
        "quota_lowered_below_confirmed_silently",
        QUOTAS,
        'if over and on_excess != "demote_latest":',
        'if over and on_excess not in ("refuse", "demote_latest"):',
        "lowering a quota below the confirmed is refused unless the admin decides; "
        "nobody is removed silently",
    ),
    Mutation(
        "earliest_confirmed_demoted",
        QUOTAS,
        ".order_by(col(Registration.queue_seq).desc()).limit(n)",
        ".order_by(col(Registration.queue_seq)).limit(n)",
        "a lowered quota moves the latest confirmed back to the waiting list",
    ),
    # --- timed work follows every change (PRODUCT.md §5, §9) --------------------------------
    Mutation(
        "moved_release_not_rearmed",
        SCHEDULE,
        "Planned(TaskKind.RELEASE, course.release_at, catch_up=True)",
        "Planned(TaskKind.RELEASE, course.release_at, rearm=False)",
        "a release date moved later after it ran releases again at the new date",
    ),
    Mutation(
        "reminder_messages_keyed_without_the_start",
        TASKS,
        "registration:{r.id}:{start}",
        "registration:{r.id}",
        "a reminder once per officer, offset and start date (a postponed course reminds again)",
    ),
    Mutation(
        "new_reminder_already_due_planned",
        SCHEDULE,
        "if item.kind == TaskKind.REMINDER and item.due <= now:",
        "if item.kind == TaskKind.REMINDER and False:",
        "a reminder whose time had passed when it was planned is not sent late",
    ),
    Mutation(
        "sent_tasks_moved",
        SCHEDULE,
        "elif task.state == TaskState.PENDING:",
        "elif task.state in (TaskState.PENDING, TaskState.SENT):",
        "what already happened is done again where a change makes it meaningful",
    ),
    Mutation(
        "unwanted_pending_work_kept",
        SCHEDULE,
        "if key not in wanted and task.state == TaskState.PENDING:",
        "if key not in wanted and False:",
        "what no longer makes sense is dropped (skipped at once)",
    ),
    Mutation(
        "cancelled_course_loses_its_anonymisation",
        SCHEDULE,
        "if course.status != CourseStatus.PUBLISHED:\n        return work",
        "if course.status != CourseStatus.PUBLISHED:\n        return {}",
        "a cancelled course keeps its anonymisation",
    ),
    Mutation(
        "skipped_anonymisation_not_rearmed",
        SCHEDULE,
        "elif item.kind == TaskKind.RETENTION and task.state in _NOT_RUN:",
        "elif False:",
        "anonymisation always happens, also where an older version had skipped it",
    ),
    Mutation(
        "done_work_rearmed_in_the_past",
        SCHEDULE,
        "and (item.due > now or item.catch_up)",
        "and True",
        "work is re-armed only where its new time lies ahead (never sent late)",
    ),
    Mutation(
        "skipped_work_not_rearmed",
        SCHEDULE,
        "(task.due_at != item.due or task.state == TaskState.SKIPPED)",
        "(task.due_at != item.due)",
        "work skipped because it no longer made sense comes back when it does again",
    ),
    Mutation(
        "day_before_list_at_the_start",
        SCHEDULE,
        "course.start_at - DAY_BEFORE",
        "course.start_at",
        "the lead's list one day before the start",
    ),
    Mutation(
        "retention_setting_ignored",
        SCHEDULE,
        "timedelta(days=plan.retention_days)",
        "timedelta(days=90)",
        "anonymisation KURSBOT_RETENTION_DAYS after the end",
    ),
    Mutation(
        "grace_ignores_the_offset",
        SCHEDULE,
        "return min(offset / GRACE_SHARE, MAX_GRACE)",
        "return MAX_GRACE",
        "the grace before a reminder is a quarter of its offset, at most an hour",
    ),
    Mutation(
        "legacy_reminder_keys_not_adopted",
        SCHEDULE,
        "if parts[0] == TaskKind.REMINDER and len(parts) == 4:",
        "if False:",
        "a reminder sent before the start date was part of its key is not sent again",
    ),
    Mutation(
        "cancelled_courses_not_replanned",
        SCHEDULE,
        "select(Course).where(~anonymised)",
        "select(Course).where(~anonymised, Course.status == CourseStatus.PUBLISHED)",
        "at every start every course not yet anonymised follows the current settings",
    ),
    Mutation(
        "work_runs_only_after_its_time",
        CLAIMS,
        "(model.state == PENDING) & (model.due_at <= now),",
        "(model.state == PENDING) & (model.due_at < now),",
        "timed work runs at its time",
    ),
    Mutation(
        "reminder_for_an_old_start_sent",
        TASKS,
        "if start != schedule.start_stamp(course.start_at):",
        "if False:",
        "a reminder planned for a start date the course has left is not sent",
    ),
    # --- a lead's news of their list (kurse/lead_news.py, kurse/outbox.py) ---------------
    Mutation(
        "lead_not_told_who_moved_up",
        PROMOTION,
        "[(r.id, news[RegistrationStatus(r.status)]) for r in promoted]",
        "[]",
        "the lead hears of every move up, whatever freed the seat",
    ),
    Mutation(
        "lead_not_told_who_moved_back",
        QUOTAS,
        "[(rid, News.MOVED_DOWN) for rid, _pid in demoted]",
        "[]",
        "the lead hears who a lowered quota moved back to the waiting list",
    ),
    Mutation(
        "replaced_lead_still_told",
        OUTBOX,
        "if course.lead_id != person.id:",
        "if False:",
        "news goes to whoever leads the course now, not to a replaced lead",
    ),
    Mutation(
        "news_not_held_in_the_window",
        OUTBOX,
        "rows = _held_back(session, rows, now, news_window)",
        "rows = list(rows)",
        "a lead gets at most one message of news a minute",
    ),
)


def problems(root: Path = ROOT) -> list[str]:
    """Why mutations would not apply to the files under ``root`` (empty when all do)."""
    found = []
    names = [m.name for m in MUTATIONS]
    found += [f"{n}: name used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for m in MUTATIONS:
        text = (root / m.path).read_text(encoding="utf-8")
        if (count := text.count(m.original)) != 1:
            found.append(f"{m.name}: snippet found {count} times in {m.path}")
        if m.original == m.replacement:
            found.append(f"{m.name}: replacement equals the original")
    return found


def copy_repository(dest: Path, rev: str | None) -> None:
    """The working tree (or the commit ``rev``) into ``dest``, without caches and databases."""
    if rev is None:
        shutil.copytree(
            ROOT,
            dest,
            ignore=shutil.ignore_patterns(
                ".venv",
                ".git",
                "__pycache__",
                ".hypothesis",
                ".pytest_cache",
                ".mypy_cache",
                ".ruff_cache",
                "*.db",
                "*.db-*",
                "kursbot-chat-files",
            ),
        )
        return
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    # The mutations are the current ones; an older commit is run against them as it is.
    shutil.copy(ROOT / "tests" / "mutations.py", dest / "tests" / "mutations.py")


def environment(copy: Path) -> dict[str, str]:
    """SQLite only, the copy's modules first, no stale bytecode."""
    env = dict(os.environ)
    env.pop("KURSBOT_TEST_POSTGRES_URL", None)
    env["PYTHONPATH"] = os.pathsep.join([str(copy), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_tests(copy: Path, tests: list[str], timeout: float) -> tuple[str, str, float]:
    """Runs ``tests`` in ``copy``: ("passed" | "failed" | "timeout" | "error", detail, secs)."""
    shutil.rmtree(copy / ".hypothesis", ignore_errors=True)  # no example saved by another run
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider"]
    conftest = (copy / "tests" / "conftest.py").read_text(encoding="utf-8")
    if "register_profile(" in conftest and '"mutations"' in conftest:  # not in older commits
        command.append("--hypothesis-profile=mutations")  # no shrinking: failing is enough
    try:
        done = subprocess.run(
            command, cwd=copy, env=environment(copy), capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "timeout", f"no result within {timeout:.0f} s", time.monotonic() - started
    seconds = time.monotonic() - started
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE)
    if done.returncode == 0:
        return "passed", "", seconds
    if done.returncode == 1:
        return "failed", failed[0] if failed else "", seconds
    last_lines = (done.stdout + done.stderr).strip().splitlines()[-1:]
    return "error", " ".join(last_lines), seconds


def main(argv: list[str] | None = None) -> int:
    """Runs the mutations; returns 1 if any that is not equivalent survives."""
    parser = argparse.ArgumentParser(prog="python -m tests.mutations", description=__doc__)
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument("--only", default="", help="comma-separated names of mutations to run")
    parser.add_argument("--rev", help="run against the tests of this commit instead")
    parser.add_argument("--tests", default=",".join(TESTS), help="comma-separated test files")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutation")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only.split(",")]
    if args.list:
        for m in chosen:
            print(f"{m.name:45} {m.path:24} {m.rule}")
        return 0
    with tempfile.TemporaryDirectory(prefix="kursbot-mutations-") as tmp:
        copy = Path(tmp) / "repo"
        copy_repository(copy, args.rev)
        if broken := problems(copy):
            print("mutations that do not apply:", *broken, sep="\n  ")
            return 2
        tests = [t for t in args.tests.split(",") if (copy / t).exists()]
        where = subprocess.run(
            [sys.executable, "-c", "import kurse.registrations as m; print(m.__file__)"],
            cwd=copy, env=environment(copy), capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert Path(where).is_relative_to(copy), f"the tests would import {where}"
        print(f"tests: {' '.join(tests)}")
        outcome, detail, seconds = run_tests(copy, tests, args.timeout)
        if outcome != "passed":
            print(f"the tests do not pass without a mutation ({outcome}: {detail})")
            return 2
        print(f"unmutated: passed in {seconds:.0f} s\n")
        survivors, caught, equivalent = [], 0, 0
        for m in chosen:
            path = copy / m.path
            original = path.read_text(encoding="utf-8")
            path.write_text(original.replace(m.original, m.replacement), encoding="utf-8")
            try:
                outcome, detail, seconds = run_tests(copy, tests, args.timeout)
            finally:
                path.write_text(original, encoding="utf-8")
            verdict = {"passed": "NOT CAUGHT"}.get(outcome, f"caught ({outcome})")
            if outcome == "passed" and m.equivalent:
                verdict, equivalent = "equivalent", equivalent + 1
            elif outcome == "passed":
                survivors.append(m)
            else:
                caught += 1
            print(f"{verdict:17} {m.name:45} {seconds:4.0f} s  {detail}", flush=True)
        print(f"\nscore: {caught} of {len(chosen) - equivalent} caught", end="")
        print(f" ({equivalent} equivalent, not counted)" if equivalent else "")
        for m in survivors:
            print(f"not caught: {m.name} ({m.path}): {m.rule}")
        return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
