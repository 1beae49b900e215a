"""`python -m bot …` runs the same CLI as `pitstop …`."""

from bot.cli import main

raise SystemExit(main())
