"""The access keys the endpoint accepts: a credentials file in the AWS CLI's format, or the environment.

A file (``EVENTPIPES_API_CREDENTIALS_FILE``) holds INI sections as ``~/.aws/credentials``
does; each section with ``aws_access_key_id`` and ``aws_secret_access_key`` is one key, and
``aws_account_id`` (as the AWS CLI writes it) gives its account, else ``EVENTPIPES_ACCOUNT``.
``EVENTPIPES_API_ACCESS_KEY_ID`` / ``EVENTPIPES_API_SECRET_ACCESS_KEY`` (and
``EVENTPIPES_API_ACCOUNT_ID``) add one more key for setups without a file. Messages name the
file and section, never a secret.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from eventpipes.api.sigv4 import AccessKey
from eventpipes.errors import ConfigurationError
from eventpipes.settings import Settings

_ACCOUNT = re.compile(r"^\d{12}$")


def load_keys(settings: Settings) -> dict[str, AccessKey]:
    """Every configured key by its id; empty when none is configured (then requests go unchecked).

    Raises:
        ConfigurationError: the file cannot be read, or a key lacks its secret or has a bad account.
    """
    keys: dict[str, AccessKey] = {}
    if settings.api_credentials_file is not None:
        keys.update(_from_file(settings.api_credentials_file, settings.account))
    key_id, secret = settings.api_access_key_id, settings.api_secret_access_key
    if key_id or secret:
        if not (key_id and secret):
            raise ConfigurationError("EVENTPIPES_API_ACCESS_KEY_ID and EVENTPIPES_API_SECRET_ACCESS_KEY go together: set both")
        keys[key_id] = AccessKey(key_id, secret.get_secret_value(), settings.api_account_id or settings.account)
    return keys


def _from_file(path: Path, default_account: str) -> dict[str, AccessKey]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigurationError(f"EVENTPIPES_API_CREDENTIALS_FILE {path}: cannot be read ({type(exc).__name__})") from None
    keys: dict[str, AccessKey] = {}
    for section in parser.sections():
        values = parser[section]
        key_id, secret = values.get("aws_access_key_id", "").strip(), values.get("aws_secret_access_key", "").strip()
        if not key_id and not secret:
            continue
        if not (key_id and secret):
            raise ConfigurationError(f"{path} [{section}]: aws_access_key_id and aws_secret_access_key go together")
        account = values.get("aws_account_id", "").strip() or default_account
        if not _ACCOUNT.match(account):
            raise ConfigurationError(f"{path} [{section}]: aws_account_id must be 12 digits")
        keys[key_id] = AccessKey(key_id, secret, account)
    if not keys:
        raise ConfigurationError(f"{path}: no section holds aws_access_key_id and aws_secret_access_key")
    return keys
