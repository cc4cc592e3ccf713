"""A flood from one account is answered a few times, then once with a notice; others go on."""

from __future__ import annotations

import time
from datetime import timedelta

from bot.context import Services
from bot.throttle import Throttle
from tests.harness import start_harness, stop_harness, user


async def test_a_flood_of_50_messages_is_answered_a_few_times_and_others_are_not_slowed(
    db, clock, settings, agencies
):
    harness = await start_harness(Services(db, clock, settings), throttle=Throttle(burst=5))
    flooder, other = user("Flut"), user("Ruhig")
    for who in (flooder, other):
        await harness.join(who, agencies["PP-OFR"].access_code, f"{who['first_name']} Person")
    clock.advance(timedelta(minutes=5))  # buckets full again
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
    assert other_answered is not None and other_answered - began < 1.0


def test_a_bucket_refills_at_the_rate():
    throttle = Throttle(rate=1.0, burst=2)

    verdicts = [throttle.check(1, 0.0) for _ in range(4)] + [throttle.check(1, 1.0)]

    assert verdicts == ["ok", "ok", "notice", "drop", "ok"]
