"""``eventpipes api``: serve the AWS-compatible endpoint (boto3, the AWS CLI, AWS SDKs)."""

from __future__ import annotations

import click

from eventpipes.settings import get_settings


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4010, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
def api(host: str, port: int) -> None:
    """Serve EventBridge's and Pipes' APIs (point boto3 or `aws --endpoint-url` at it).

    Runs until interrupted. Several endpoints can serve one cluster: they share its stores.

    \b
    Authentication (AWS Signature Version 4): on whenever access keys are configured
    (EVENTPIPES_API_CREDENTIALS_FILE in the AWS CLI's credentials format, or
    EVENTPIPES_API_ACCESS_KEY_ID/EVENTPIPES_API_SECRET_ACCESS_KEY); required on any
    --host other than loopback.
    """
    from eventpipes.api import Endpoint, require_credentials, run
    from eventpipes.api.credentials import load_keys

    settings = get_settings()
    keys = load_keys(settings)
    require_credentials(host, keys)  # before anything is printed or connected
    access = f"SigV4, {len(keys)} access key(s)" if keys else "unsigned requests accepted (loopback only)"
    click.echo(f"AWS endpoint on http://{host}:{port}, Kafka at {settings.bootstrap_servers}, {access}", err=True)
    run(Endpoint(settings, keys=keys), host, port)
