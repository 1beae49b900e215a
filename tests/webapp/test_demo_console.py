"""`pitstop demo --console` serves the console over the demo's database and prints links, signed for the demo's
facilitator and a participant, that open it in an ordinary browser: each sees their own, nobody's private text."""

from __future__ import annotations

import asyncio
import io
import re
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.sandbox.demo import run_demo


async def test_the_demo_serves_the_console_with_links_signed_for_femke_and_sanne() -> None:
    out, stop = io.StringIO(), asyncio.Event()
    demo = asyncio.create_task(run_demo(out, console_port=0, until=stop))
    try:
        for _ in range(1200):
            if "Ctrl-C stops the demo." in out.getvalue() or demo.done():
                break
            await asyncio.sleep(0.05)
        transcript = out.getvalue()
        femke = re.search(r"Femke, facilitator \(calendar\): (\S+)", transcript)
        sanne = re.search(r"Sanne, participant \(journal\): +(\S+)", transcript)
        assert femke and sanne, transcript[-2000:]
        async with aiohttp.ClientSession() as session:
            pages = {}
            for who, link in (("femke", femke[1]), ("sanne", sanne[1])):
                address = urlsplit(link)
                fragment = parse_qs(address.fragment)
                assert "bg_color" in fragment["tgWebAppThemeParams"][0]
                base = f"{address.scheme}://{address.netloc}"
                async with session.get(base + address.path) as shell:
                    assert shell.status == 200 and "console.js" in await shell.text()
                page = address.path.strip("/")
                headers = {"Authorization": "tma " + fragment["tgWebAppData"][0]}
                async with session.get(f"{base}/api/view/{page}", headers=headers) as answer:
                    assert answer.status == 200
                    pages[who] = await answer.text()
        assert "Pitstop voor managers gemeente Den Haag" in pages["femke"] and "Leergroep 1" in pages["femke"]
        assert "Ik merk dat ik in het MT vaak als eerste het woord neem" in pages["sanne"]
        for others in ("The last pitstop made me see", "nee te zeggen tegen de wethouder"):  # Tom's, Youssef's
            assert others not in pages["sanne"] and others not in pages["femke"]
        assert "Donderdag neem ik een half uur" not in pages["femke"]  # Sanne's private reflection
    finally:
        stop.set()
        summary = await asyncio.wait_for(demo, timeout=30)
    assert summary.digests_delivered == 1
