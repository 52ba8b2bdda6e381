"""`zsb`: serve, worker, migrate, seed, export-schema, demo-totp."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from api.settings import Settings


def _serve(settings: Settings) -> None:
    import uvicorn

    from api.app import create_app
    from api.http.h5 import h5_routes

    base = settings.base_url
    print(
        f"掌上办 API on {base}  ({'embedded' if not settings.redis_url else 'server'} mode, env={settings.env.value})"
    )
    print(f"  GraphQL   {base}/graphql" + ("   (GraphiQL: open it in a browser)" if not settings.is_production else ""))
    if settings.sandbox_enabled:
        print(f"  Sandboxes {base}/sandbox   SMS codes: {base}/sandbox/sms/messages?phone=<phone>")
        print(
            f"  Cashier   {base}/sandbox/alipay/cashier/<outTradeNo>  {base}/sandbox/wechatpay/cashier/<outTradeNo>"
            "   (each PaymentOrder's sandboxCashierUrl)"
        )
        print(
            f"  Pushes    {base}/sandbox/apns/_control/requests  {base}/sandbox/huawei/_control/requests"
            f"   (what each phone received; every sandbox with its control URL: GET {base}/sandbox)"
        )
    if h5_routes(settings):
        print(f"  H5        {base}/h5/   (the H5 harness: every journey by hand, in a browser)")
    print(f"  Health    {base}/healthz  {base}/readyz  {base}/metrics", flush=True)
    # log_config=None: uvicorn logs through our JSON handler too, with the request id and redaction.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)


def _migrate(settings: Settings) -> None:
    from api import database
    from api.workdays import store as workdays

    async def run() -> list[int]:
        await database.migrate(settings.resolved_database_url)
        await database.connect(settings.resolved_database_url)
        try:
            return await workdays.sync_shipped()
        finally:
            await database.disconnect()

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    years = asyncio.run(run())
    print("migrations applied" + (f"; working-day calendar loaded for {', '.join(map(str, years))}" if years else ""))


def _seed(settings: Settings) -> None:
    from api import database, devsecrets
    from api.kit.clock import SystemClock
    from api.kit.pii import PiiCipher
    from api.seed import load_demo_seed

    if settings.is_production:
        raise SystemExit("the demo seed is never loaded in production")
    secrets = devsecrets.load_or_create(settings.var_dir)

    async def run() -> str:
        await database.connect(settings.resolved_database_url)
        try:
            report = await load_demo_seed(
                pii=PiiCipher(secrets.pii_encryption_key, secrets.pii_hash_key), clock=SystemClock()
            )
            return report.render(base_url=settings.base_url)
        finally:
            await database.disconnect()

    print(asyncio.run(run()))


def _export_schema() -> None:
    from schema.root import SDL_PATH, printed_sdl

    SDL_PATH.write_text(printed_sdl(), encoding="utf-8")
    print(f"wrote {SDL_PATH}")


def _demo_totp(username: str, settings: Settings) -> None:
    from api.identity.operators import current_code
    from api.seed.identity import demo_totp_secret

    if settings.is_production:
        raise SystemExit("demo credentials exist only outside production")
    print(current_code(demo_totp_secret(username), time.time()))


def _worker(queue: str | None) -> None:
    from arq.worker import run_worker

    from api.worker import NOTIFY_QUEUES, NotificationWorkerSettings, WorkerSettings, worker_redis_settings

    # arq reads the settings class's __dict__, where a staticmethod stays unbound: the Redis settings go explicitly.
    overrides: dict[str, object] = {"redis_settings": worker_redis_settings()}
    if queue:
        overrides["queue_name"] = queue
    # Notifications' senders run their own functions, build their adapters in on_startup, and tick the scheduler.
    settings_cls = NotificationWorkerSettings if queue in NOTIFY_QUEUES else WorkerSettings
    run_worker(settings_cls, **overrides)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zsb", description="掌上办 backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the API (embedded defaults unless APP_* settings say otherwise)")
    worker = sub.add_parser("worker", help="run an arq worker against APP_REDIS_URL")
    worker.add_argument("--queue", default=None, help="notify:tx or notify:campaign for notifications' senders")
    sub.add_parser("migrate", help="apply the committed migrations")
    sub.add_parser("seed", help="load the demo seed into an empty database and print the sign-in details")
    sub.add_parser("export-schema", help="write schema/schema.graphql from the code")
    totp = sub.add_parser("demo-totp", help="print the current TOTP code of a seeded operator")
    totp.add_argument("username")
    args = parser.parse_args(argv)
    settings = Settings()
    match args.command:
        case "serve":
            _serve(settings)
        case "worker":
            _worker(args.queue)
        case "migrate":
            _migrate(settings)
        case "seed":
            _seed(settings)
        case "export-schema":
            _export_schema()
        case "demo-totp":
            _demo_totp(args.username, settings)
        case _:
            parser.print_help()
            sys.exit(2)


if __name__ == "__main__":
    main()
