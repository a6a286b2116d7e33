"""``kliendihaldus worker --once`` as an administrator runs it, against a real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from core.db import tenant_scope
from core.mail import queue_mail
from core.models import MailMessage

ROOT = Path(__file__).resolve().parent.parent


def run_worker_once(db_url: str, smtp_port: int) -> subprocess.CompletedProcess:
    """``kliendihaldus --config config/test.ini worker --once`` with the test database and
    SMTP server given through the environment, as in production."""
    env = dict(os.environ, DATABASE_URL=db_url, SMTP_HOST="127.0.0.1",
               SMTP_PORT=str(smtp_port))
    return subprocess.run(
        [sys.executable, "-m", "core", "--config", "config/test.ini", "worker", "--once"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )


def test_worker_once_delivers_queued_mail_and_exits(db_url, dbsession, tenant, smtp_server):
    with tenant_scope(dbsession, tenant.id):
        message = queue_mail(dbsession, to=["mari@klient.test"], subject="Tere käsurealt",
                             body_text="Saadetud töötaja käsuga.",
                             sender="Acme OÜ <info@acme.test>")
    dbsession.commit()

    first = run_worker_once(db_url, smtp_server.port)

    assert first.returncode == 0, first.stderr
    assert "Processed 1 item(s)." in first.stdout
    [received] = smtp_server.messages
    assert received.message_id == message.message_id
    assert received.message["Subject"] == "Tere käsurealt"
    assert received.message.get_content().strip() == "Saadetud töötaja käsuga."
    dbsession.rollback()
    assert dbsession.scalar(sa.select(MailMessage.status)) == "sent"

    again = run_worker_once(db_url, smtp_server.port)

    assert again.returncode == 0, again.stderr
    assert "Processed 0 item(s)." in again.stdout
    assert len(smtp_server.messages) == 1


def test_worker_stops_cleanly_on_sigterm(db_url):
    """A service manager's SIGTERM ends the loop after the current item, exit status 0."""
    import signal as signal_module

    env = dict(os.environ, DATABASE_URL=db_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "core", "--config", "config/test.ini", "worker"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert "started" in process.stdout.readline()
    process.send_signal(signal_module.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Worker stopped." in out
