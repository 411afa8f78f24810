"""Settings, read once from environment variables prefixed with ``GROWTH_``.

This is the only module that reads ``os.environ``. Every setting has a documented default that
runs the embedded profile (SQLite, in-process jobs) on a developer machine.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

PREFIX = "GROWTH_"


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; each field maps to ``GROWTH_<FIELD NAME IN UPPER CASE>``."""

    database_url: str = "sqlite+aiosqlite:///./growth.db"
    """SQLAlchemy async URL. PostgreSQL in production: ``postgresql+asyncpg://user@host/db``."""
    secret_key: str = ""
    """Signs share links and keys the click IP hash. Empty: read or create ``secret_file``."""
    secret_file: str = ".growth-secret"
    """Where a generated secret is kept when ``secret_key`` is not set (embedded profile)."""
    base_url: str = "http://127.0.0.1:8000"
    """Public origin of this service; referral links and QR codes point here."""
    default_currency: str = "USD"
    """ISO 4217 currency for campaigns created without one."""
    timezone: str = "UTC"
    """IANA zone in which periods (statement months, chart days) are cut and times are shown."""
    default_locale: str = "en"
    """Locale of pages when the browser asks for none we have (``en`` or ``zh_Hans``)."""
    attribution_window_days: int = 30
    """Default lifetime of the attribution cookie and of a click's claim on an order."""
    referral_param: str = "ref"
    """Query parameter that carries the referral code to the landing page."""
    click_param: str = "ref_click"
    """Query parameter that carries the click id to the landing page."""
    cookie_name: str = "growth_ref"
    """Name of the first-party attribution cookie."""
    click_queue_size: int = 10_000
    """Clicks buffered in memory before redirects wait for the writer (back-pressure, never loss)."""
    click_batch_size: int = 500
    """Clicks written per transaction by the click writer."""
    click_flush_interval_ms: int = 100
    """The click writer writes what it holds at least this often, full batch or not."""
    link_cache_seconds: float = 30.0
    """How long a process may serve a referral code from its cache without asking the database: the
    safety net when an invalidation is lost (changes drop the entry at once, in every process with Redis)."""
    outbox_poll_seconds: float = 1.0
    """How often the embedded outbox worker looks for events it was not told about."""
    smtp_url: str = ""
    """``smtp://host:port``; empty: e-mails are logged instead of sent."""
    mail_from: str = "growth@localhost"
    """Sender address of outgoing e-mail."""
    webhook_timeout_seconds: float = 5.0
    """How long one outgoing notification webhook request may take; a slower endpoint is retried."""
    webhook_max_attempts: int = 8
    """Attempts of a notification webhook delivery (back-off 30 s, 1 min, 2 min, ...) before it fails."""
    webhook_job_interval_seconds: float = 10.0
    """How often the embedded profile attempts the notification webhook deliveries that are due."""
    stripe_webhook_secret: str = ""
    """Signing secret (``whsec_...``) of the Stripe webhook endpoint; empty: ``/webhooks/stripe`` is 503."""
    reward_job_interval_seconds: float = 60.0
    """How often the embedded profile approves (and issues) rewards whose hold period has passed."""
    gift_pack_fulfilment_days: int = 7
    """How long a gift pack or sample may take from approval (or the shipment request) to leaving the
    warehouse before the customer is told of the delay; also the date the share page expects it."""
    review_alert_days: int = 3
    """A reward whose order the risk review holds longer than this many days raises a delay alert."""
    delay_job_interval_seconds: float = 300.0
    """How often the embedded profile looks for items past their expected time (delay alerts)."""
    log_level: str = "INFO"
    log_json: bool = False
    """Render logs as JSON lines (production) instead of console text."""
    debug: bool = False
    demo: bool = False
    """Serve the demo shop page at ``/demo/shop`` (set by ``growth demo``)."""
    shipment_webhook_url: str = ""
    """Where gift-pack shipment requests are POSTed as signed JSON; empty: the shop uses the CSV export."""
    shipment_webhook_secret: str = ""
    """HMAC-SHA256 key of the shipment webhook's ``X-Growth-Signature``; empty: the service's secret."""
    shipment_webhook_timeout_seconds: float = 5.0
    """How long one shipment webhook request may take; a slower shop is retried later."""
    share_platforms: str = "weibo,xiaohongshu,douyin,wechat_channels,instagram,tiktok,x,facebook"
    """Comma-separated platforms whose posts customers may submit for social-share campaigns."""
    lead_valid_days: int = 90
    """How long a partner's registered lead holds its prospect (and attributes their orders), in days."""
    stripe_api_key: str = ""
    """Secret key (``sk_...``) for Stripe Connect payouts; empty: Stripe payouts are refused (503)."""
    stripe_api_base: str = "https://api.stripe.com"
    """Origin of Stripe's API (tests point it at a local stand-in)."""
    payout_minimums: str = ""
    """Minimum payout per currency in minor units, ``CNY:10000,USD:5000``; unnamed: any amount."""
    payout_cooling_off_days: int = 7
    """Days a changed payout account waits before money is sent to it."""
    risk_settings: str = ""
    """The risk firewall's program-wide rules as a JSON object of setting names (README "Risk firewall
    rules"), e.g. ``{"disposable_email": "reject", "velocity_max_orders": 20}``; each campaign's
    ``risk`` overrides them. Empty: the built-in defaults."""
    disposable_domains_file: str = ""
    """Disposable e-mail domains, one a line (``#`` comments); empty: the shipped list."""
    partner_tier_hold_days: str = "new:60,standard:30,trusted:14"
    """Commission hold per partner credit tier, in days; a commission waits this or its plan's, the longer."""
    partner_tier_caps: str = "new:50000,standard:500000"
    """Cap on a partner's payable commission per tier, in minor units of each currency (``tier:amount``),
    or for one currency (``tier:CUR:amount``); a tier not named has no cap (here: trusted)."""
    partner_tier_promotions: str = "standard:3:90,trusted:12:180"
    """``tier:paid_payouts:days``: a partner moves up to ``tier`` after that many paid payouts, once it has
    been approved that many days and had no commission clawed back in them. Empty: no promotions."""
    blocked_countries_file: str = ""
    """ISO 3166-1 alpha-2 codes partners are never paid in, one a line; empty: the shipped list."""
    payout_trailing_ratio_bps: int = 30_000
    """A payout above this multiple (basis points: 30000 = 3x) of the partner's trailing average is held
    for finance to release; 0 turns the check off."""
    payout_trailing_payouts: int = 6
    """How many of the partner's last paid payouts (in the run's currency) make the trailing average."""
    payout_trailing_min_payouts: int = 3
    """Fewer paid payouts than this: no trailing average, no hold."""
    redis_url: str = ""
    """``redis://host:6379/0``: the production profile. Jobs (outbox drain, deliveries, periodic jobs,
    payout execution) go to a Redis-backed queue run by ``growth worker`` processes; empty: in-process."""
    queue_name: str = "growth"
    """Name of the job queue in Redis (its keys are ``saq:<name>:*``); one per deployment."""
    worker_concurrency: int = 4
    """Jobs one ``growth worker`` process runs at once."""
    outbox_sweep_seconds: int = 5
    """Production profile: how often a worker looks for outbox events no kick announced (a web process
    that died between commit and enqueue); whole seconds."""
    metrics_token: str = ""
    """Bearer token ``/metrics`` asks for; empty: open (serve it on an internal network only)."""
    metrics_dir: str = ""
    """Directory where this host's processes share Prometheus metrics (multiprocess mode; ``growth serve``
    and ``growth production`` set it for their children). Empty: each process reports only its own."""
    rate_limit_code_lookups: str = "60/60"
    """Unknown referral codes one client may try (``/r/{code}``, its QR) per window: ``count/seconds``;
    ``off``: no limit. Working links are never limited."""
    rate_limit_sign_in: str = "20/600"
    """Sign-in attempts one client may make per window (partner sign-in links asked for or opened, API
    keys tried on the sign-in page), successful or not; ``count/seconds`` or ``off``."""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, CLI flags)."""
        return replace(self, **changes)

    def resolved_secret(self) -> str:
        """The signing secret, creating and keeping one in ``secret_file`` when none is configured."""
        if self.secret_key:
            return self.secret_key
        path = Path(self.secret_file)
        if path.exists():
            return path.read_text().strip()
        secret = secrets.token_urlsafe(32)
        path.write_text(secret)
        path.chmod(0o600)
        return secret


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (``os.environ`` by default)."""
    env = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    defaults = Settings()
    for f in fields(Settings):
        raw = env.get(PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _coerce(raw, getattr(defaults, f.name))
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


def test_database_url() -> str | None:
    """``GROWTH_TEST_DATABASE_URL``: the server the test suite runs against (PostgreSQL in CI)."""
    return os.environ.get(PREFIX + "TEST_DATABASE_URL") or None


def env_flag(name: str) -> bool:
    """A boolean ``GROWTH_<NAME>`` flag outside the settings (test-suite switches)."""
    return os.environ.get(PREFIX + name, "").strip().lower() in {"1", "true", "yes", "on"}
