"""A flood from one account is answered a few times, then once with a notice; others go on."""

from __future__ import annotations

import time
from datetime import timedelta

from bot.context import Services
from bot.throttle import Throttle
from tests.harness import start_harness, stop_harness, user


class SteppingClock:
    """Seconds for the throttle, moved by the test (backwards too, as a monotonic one never is)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_flood_of_50_messages_is_answered_a_few_times_and_others_are_not_slowed(
    db, clock, settings, agencies
):
    ticks = SteppingClock()
    throttle = Throttle(burst=5, clock=ticks)
    harness = await start_harness(Services(db, clock, settings), throttle=throttle)
    flooder, other = user("Flut"), user("Ruhig")
    for who in (flooder, other):
        await harness.join(who, agencies["PP-OFR"].access_code, f"{who['first_name']} Person")
    ticks.now += 300  # buckets full again
    before = len(harness.api.messages(flooder["id"]))
    harness.api.sent_at.pop(other["id"], None)  # time the answer to come, not the joining
    flood = [harness.api.user_message(flooder, "/hilfe") for _ in range(50)]

    began = time.perf_counter()
    await harness.feed([*flood[:25], harness.api.user_message(other, "/hilfe"), *flood[25:]])
    other_answered = harness.api.sent_at.get(other["id"])
    await stop_harness(harness)

    answers = [m.text for m in harness.api.messages(flooder["id"])[before:]]
    assert len(answers) == 6  # five answered, one notice, 44 dropped
    assert answers[-1].startswith("Das war viel auf einmal.")
    assert any(
        m.text.startswith("<b>Kursbot – Befehle</b>")
        for m in harness.api.messages(other["id"])[-1:]
    )
    # The other user's answer came while the flood was being handled (measured bound: 1 s).
    assert other_answered is not None
    assert other_answered - began < 1.0


def test_a_bucket_refills_at_the_rate():
    ticks = SteppingClock()
    throttle = Throttle(rate=1.0, burst=2, clock=ticks)

    verdicts = [throttle.check(1) for _ in range(4)]
    ticks.now += 1.0
    verdicts.append(throttle.check(1))

    assert verdicts == ["ok", "ok", "notice", "drop", "ok"]


def test_a_throttle_whose_clock_steps_back_neither_refills_nor_owes_the_lost_hour():
    ticks = SteppingClock()
    throttle = Throttle(rate=1.0, burst=2, clock=ticks)
    used_up = [throttle.check(1) for _ in range(3)]

    ticks.now -= 3600
    right_after = throttle.check(1)
    ticks.now += 2
    two_seconds_later = [throttle.check(1) for _ in range(2)]

    assert used_up == ["ok", "ok", "notice"]
    assert right_after == "drop"
    assert two_seconds_later == ["ok", "ok"]


def test_the_throttle_runs_on_the_monotonic_clock():
    assert Throttle().clock is time.monotonic


async def test_a_user_is_still_answered_after_the_wall_clock_steps_back_an_hour(
    db, clock, settings, agencies
):
    harness = await start_harness(Services(db, clock, settings), throttle=Throttle(burst=5))
    anna = user("Anna")
    await harness.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")

    clock.advance(timedelta(hours=-1))  # NTP corrects the system clock by an hour
    answer = await harness.send(anna, "/hilfe")
    await stop_harness(harness)

    assert [m.text.split("\n")[0] for m in answer] == ["<b>Kursbot – Befehle</b>"]
