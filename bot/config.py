"""Settings from the environment and a `.env` file, parsed once into a frozen dataclass."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("en", "nl")
# What a Bot API server accepts: the bot's numeric id, a colon, then its secret. Telegram's own
# secrets are 35 characters, a self-hosted or test server's may be short ("123456:TEST").
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
TOKEN_RULE = (
    "TELEGRAM_BOT_TOKEN must be the bot's numeric id, a colon, then its secret of letters, digits, _ or -"
    " (such as 123456789:AAH…, as @BotFather gives it)"
)


class ConfigError(Exception):
    """A setting that is missing or malformed; the message is one sentence naming it."""


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: object) -> bool:
    """Gives whether a PITSTOP_DB value names a PostgreSQL database rather than a SQLite file."""
    return str(target).startswith(POSTGRES_SCHEMES)


def redacted(dsn: str) -> str:
    """Gives a database address without its password, for messages and logs."""
    parts = urlsplit(dsn)
    query = "&".join(
        f"{name}=***" if name.lower() == "password" else f"{name}={value}" if sep else name
        for name, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    netloc = parts.netloc
    if parts.password is not None:
        port = f":{parts.port}" if parts.port else ""
        netloc = f"{parts.username or ''}:***@{parts.hostname or ''}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class Settings:
    """Everything the process needs to know before it starts."""

    token: str = field(repr=False)
    base_url: str | None = None
    db_path: Path = Path("pitstop.db")
    # PITSTOP_DB when it names a PostgreSQL database (postgresql://…); db_path is then unused.
    db_url: str | None = field(default=None, repr=False)
    admins: frozenset[int] = frozenset()
    timezone: str = "Europe/Amsterdam"
    language: str = "en"
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_port: int = 8443
    webhook_listen: str = "127.0.0.1"  # behind a reverse proxy on the same machine; 0.0.0.0 to expose it
    # Telegram's limits, overridable for tests and benchmarks (0 switches pacing off).
    rate_per_second: float = 30.0
    dispatch_interval: float = 1.0
    plan_interval: float = 3600.0
    # The key of the trend study's pseudonyms (`pitstop research export`); never logged, never in an export.
    research_secret: str | None = field(default=None, repr=False)
    # The console (a Telegram Mini App), served by the bot itself when its public https address is set.
    webapp_url: str | None = None
    webapp_port: int = 8444
    webapp_listen: str = "127.0.0.1"  # behind the reverse proxy that holds the https address
    webapp_max_age: int = 3600  # seconds a console's signed initData is taken after Telegram made it

    @property
    def db_target(self) -> str:
        """Gives what opens the store: the PostgreSQL address, or the SQLite file's path."""
        return self.db_url or str(self.db_path)

    @property
    def db_shown(self) -> str:
        """Gives the store's name for messages: the file, or the PostgreSQL address without its password."""
        return redacted(self.db_url) if self.db_url else str(self.db_path)

    @property
    def zone(self) -> ZoneInfo:
        """Gives the default time zone."""
        return ZoneInfo(self.timezone)

    def api_base(self) -> str | None:
        """Gives the base_url python-telegram-bot wants (`…/bot`), or None for Telegram itself."""
        return f"{self.base_url}/bot" if self.base_url else None

    def file_base(self) -> str | None:
        """Gives the base_file_url python-telegram-bot wants (`…/file/bot`)."""
        return f"{self.base_url}/file/bot" if self.base_url else None


def read_env_file(path: Path) -> dict[str, str]:
    """Gives the KEY=value pairs of a .env file; comments, blanks and `export ` are allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{path} line {number} is not of the form NAME=value.")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value or "\t#" in value:
            value = re.split(r"\s#", value, maxsplit=1)[0].rstrip()  # NAME=value  # a comment
        values[name.strip()] = value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
    require_token: bool = True,
) -> Settings:
    """Gives the settings from a .env file overlaid by the environment, or raises ConfigError."""
    values: dict[str, str] = read_env_file(env_file) if env_file is not None else {}
    values.update(os.environ if environ is None else environ)

    token = values.get("TELEGRAM_BOT_TOKEN", "").strip()
    if require_token and not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env.")
    if token and not TOKEN_PATTERN.match(token):
        # One rule for every command: `run` needs the token, `invite` and `import` ask Telegram with it.
        raise ConfigError(f"{TOKEN_RULE}; the one set is not of that form.")

    base_url = values.get("TELEGRAM_BASE_URL", "").strip().rstrip("/") or None
    if base_url and not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", base_url):
        raise ConfigError(f"TELEGRAM_BASE_URL must look like http://host:port, not {base_url!r}.")
    if base_url and base_url.endswith("/bot"):
        base_url = base_url[: -len("/bot")]

    admins_raw = values.get("PITSTOP_ADMINS", "").strip()
    admins: set[int] = set()
    for part in filter(None, (p.strip() for p in re.split(r"[,\s]+", admins_raw))):
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ConfigError(f"PITSTOP_ADMINS must be Telegram user ids separated by commas; {part!r} is not one.")
        admins.add(int(part))

    zone_name = values.get("PITSTOP_TIMEZONE", "Europe/Amsterdam").strip() or "Europe/Amsterdam"
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"PITSTOP_TIMEZONE {zone_name!r} is not a known time zone; use an IANA name such as Europe/Amsterdam."
        ) from None

    language = values.get("PITSTOP_LANGUAGE", "en").strip().lower() or "en"
    if language not in LANGUAGES:
        raise ConfigError(f"PITSTOP_LANGUAGE must be one of {', '.join(LANGUAGES)}, not {language!r}.")

    db_raw = values.get("PITSTOP_DB", "pitstop.db").strip() or "pitstop.db"

    webhook_url = values.get("PITSTOP_WEBHOOK_URL", "").strip() or None
    webhook_secret = values.get("PITSTOP_WEBHOOK_SECRET", "").strip() or None
    if webhook_url and not webhook_secret:
        raise ConfigError("PITSTOP_WEBHOOK_SECRET must be set when PITSTOP_WEBHOOK_URL is, so that forged requests are refused.")
    if webhook_secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", webhook_secret):
        raise ConfigError("PITSTOP_WEBHOOK_SECRET may hold only letters, digits, _ and - (1 to 256 of them).")
    webhook_port = _number(values, "PITSTOP_WEBHOOK_PORT", 8443, int)
    rate = _number(values, "PITSTOP_RATE_PER_SECOND", 30.0, float)
    interval = _number(values, "PITSTOP_DISPATCH_INTERVAL", 1.0, float)
    if interval <= 0:
        raise ConfigError("PITSTOP_DISPATCH_INTERVAL must be a positive number of seconds.")
    if rate < 0:
        raise ConfigError("PITSTOP_RATE_PER_SECOND must be 0 (no pacing) or a positive number.")

    webapp_url, webapp_port, webapp_max_age = _webapp(values)

    return Settings(
        token=token,
        base_url=base_url,
        db_path=Path("pitstop.db") if is_postgres(db_raw) else Path(db_raw),
        db_url=db_raw if is_postgres(db_raw) else None,
        admins=frozenset(admins),
        timezone=zone_name,
        language=language,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_port=int(webhook_port),
        webhook_listen=values.get("PITSTOP_WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
        rate_per_second=float(rate),
        dispatch_interval=float(interval),
        research_secret=values.get("PITSTOP_RESEARCH_SECRET", "").strip() or None,
        webapp_url=webapp_url,
        webapp_port=webapp_port,
        webapp_listen=values.get("PITSTOP_WEBAPP_LISTEN", "").strip() or "127.0.0.1",
        webapp_max_age=webapp_max_age,
    )


def _webapp(values: Mapping[str, str]) -> tuple[str | None, int, int]:
    """Gives the console's public address, its port and how old its signed data may be (PITSTOP_WEBAPP_…)."""
    url = values.get("PITSTOP_WEBAPP_URL", "").strip().rstrip("/") or None
    if url is not None and not re.fullmatch(r"https://[^/\s?#]+(/[^\s?#]*)?", url):
        raise ConfigError(
            f"PITSTOP_WEBAPP_URL must be a public https address such as https://pitstop.example.org/console,"
            f" not {url!r} (Telegram opens Mini Apps over https only)."
        )
    port = _number(values, "PITSTOP_WEBAPP_PORT", 8444, int)
    if not 1 <= port <= 65535:
        raise ConfigError(f"PITSTOP_WEBAPP_PORT must be a port number from 1 to 65535, not {int(port)}.")
    max_age = _number(values, "PITSTOP_WEBAPP_MAX_AGE", 3600, int)
    if max_age < 60:
        raise ConfigError("PITSTOP_WEBAPP_MAX_AGE must be at least 60 seconds.")
    return url, int(port), int(max_age)


def _number(values: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}.") from None
