"""Start-up reads the environment and stops on a malformed value, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_check(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY"}
    }
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "mysql://db/cc", "DATABASE_URL='mysql://db/cc': unsupported scheme"),
        ("DATABASE_URL", "postgres://db:5432", "names no database after the host"),
        ("REDIS_URL", "http://cache:6379", "REDIS_URL='http://cache:6379': unsupported scheme"),
        ("REDIS_URL", "redis://cache:port/0", "REDIS_URL='redis://cache:port/0' has an invalid"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG='maybe' is not a boolean"),
        ("DATABASE_POOL_MAX", "ten", "DATABASE_POOL_MAX='ten' is not a whole number"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(variable, value, message):
    extra = {variable: value}
    if variable == "DATABASE_POOL_MAX":
        extra["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/cc"
    result = run_check(extra)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = run_check(
        {
            "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-0123456789-abcdefghijklmnop",
            "DJANGO_ALLOWED_HOSTS": "cc.example.com",
            "DJANGO_HSTS_SECONDS": "31536000",
            "DJANGO_SECURE_SSL_REDIRECT": "1",
        },
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_channel_layer_is_redis_pub_sub_with_a_patient_socket_and_a_large_pool():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; import django; django.setup(); "
            "print(settings.CHANNEL_LAYERS['default']['BACKEND']); "
            "print(settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'])",
        ],
        env={
            **os.environ,
            "REDIS_URL": "redis://cache:6379/0",
            "DJANGO_SETTINGS_MODULE": "contactcenter.settings",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "[{'address': 'redis://cache:6379/0', 'socket_timeout': 15, 'max_connections': 1000}]",
    ]
