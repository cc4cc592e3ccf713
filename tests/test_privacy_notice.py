"""The privacy information (Art. 13 GDPR): acknowledged when joining, shown by /datenschutz at
any time, in the wording the operator configured (`KURSBOT_PRIVACY_NOTICE`)."""

from __future__ import annotations

import pytest

from bot.context import Services
from kurse import people
from kurse.config import Settings, SettingsError, load_settings
from tests.conftest import ADMIN_ID
from tests.harness import start_harness, stop_harness, user
from tests.test_cli import kursbot


@pytest.fixture
def notice_files(tmp_path):
    (tmp_path / "datenschutz.de.html").write_text(
        "<b>Datenschutzinformation PP Oberfranken / PD Zwickau</b>\nFreigegeben vom DSB.",
        encoding="utf-8",
    )
    (tmp_path / "datenschutz.en.html").write_text(
        "<b>Privacy information PP Oberfranken / PD Zwickau</b>\nApproved by the DPO.",
        encoding="utf-8",
    )
    return str(tmp_path / "datenschutz.{lang}.html")


async def test_a_configured_notice_is_shown_when_joining_and_its_acknowledgement_stored(
    db, clock, agencies, notice_files
):
    settings = Settings(
        _env_file=None, kursbot_admin_ids=(ADMIN_ID,), kursbot_privacy_notice=notice_files
    )
    h = await start_harness(Services(db, clock, settings))
    anna, ben = user("Anna"), user("Ben", "en")

    await h.send(anna, f"/start {agencies['PP-OFR'].access_code}")
    await h.send(anna, "Anna Beispiel")
    notice = (await h.send(anna, "POK"))[0].text  # the message becomes the welcome after
    await h.press(anna, "Zur Kenntnis genommen")
    (english,) = await h.send(ben, "/privacy")
    await stop_harness(h)

    assert notice.startswith("<b>Datenschutzinformation PP Oberfranken / PD Zwickau</b>")
    assert notice.endswith("zur Kenntnis genommen haben.")
    assert (
        english.text
        == "<b>Privacy information PP Oberfranken / PD Zwickau</b>\nApproved by the DPO."
    )
    assert db.call(people.find_by_telegram_id, anna["id"]).consent_at == clock.now()


async def test_datenschutz_is_readable_before_joining_and_after(h, agencies):
    stranger = user("Nora")

    (before,) = await h.send(stranger, "/datenschutz")
    await h.join(stranger, agencies["PD-Z"].access_code, "Nora Neu")
    (after,) = await h.send(stranger, "/datenschutz")

    assert before.text.startswith(
        "<b>Informationen zur Verarbeitung Ihrer personenbezogenen Daten"
    )
    assert after.text == before.text
    assert "/daten_loeschen" in after.text
    assert "Beschwerde" in after.text


def test_a_missing_notice_file_stops_the_start_with_one_line(tmp_path):
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, kursbot_privacy_notice=str(tmp_path / "weg.{lang}.html"))

    assert str(refused.value) == (
        f"Setting KURSBOT_PRIVACY_NOTICE is invalid: cannot read {tmp_path}/weg.de.html: "
        "No such file or directory"
    )


def test_an_unreadable_notice_file_stops_kursbot_run_with_one_line(tmp_path):
    broken = tmp_path / "datenschutz.html"
    broken.write_bytes(b"\xff\xfe kein UTF-8")
    root = __file__.rsplit("/tests/", 1)[0]

    result = kursbot(
        "run",
        cwd=tmp_path,
        env_extra={
            "PYTHONPATH": root,
            "TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi",
            "KURSBOT_PRIVACY_NOTICE": str(broken),
        },
    )

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "KURSBOT_PRIVACY_NOTICE" in result.stderr
    assert "Traceback" not in result.stderr
