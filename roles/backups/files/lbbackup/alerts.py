# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerts on failed jobs: a Slack-compatible webhook and/or email, secrets masked."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage


def alert_text(cfg, job, error):
    if job == "alert-test":
        return "launchbay backup alert TEST from %s (%s): %s" % (cfg.host, cfg.environment, cfg.mask(error))
    return "launchbay backup FAILED on %s (%s), job %s: %s" % (cfg.host, cfg.environment, job, cfg.mask(error))


def send_alert(cfg, job, error, database=None):
    """Webhook (Slack-compatible JSON) and/or email. Returns (sent, problems); never raises."""
    text = alert_text(cfg, job, error)
    sent, problems = [], []
    url = cfg.alerts.get("webhook_url")
    if url:
        body = json.dumps({"text": text, "host": cfg.host, "environment": cfg.environment, "job": job,
                           "database": database, "error": cfg.mask(error)}).encode("utf-8")
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # nosec - operator's URL
                response.read()
            sent.append("webhook")
        except Exception as exc:  # pylint: disable=broad-except
            problems.append("webhook: %s" % cfg.mask(exc))
    email = cfg.alerts.get("email") or {}
    if email.get("to"):
        msg = EmailMessage()
        msg["Subject"] = "[launchbay] backup %s failed on %s" % (job, cfg.host)
        msg["From"] = email.get("from") or "launchbay@%s" % cfg.host
        msg["To"] = ", ".join(email["to"])
        msg.set_content(text + "\n")
        try:
            with smtplib.SMTP(email.get("host", "localhost"), int(email.get("port", 25)), timeout=15) as smtp:
                if email.get("starttls"):
                    smtp.starttls()
                if email.get("username"):
                    smtp.login(email["username"], email.get("password", ""))
                smtp.send_message(msg)
            sent.append("email")
        except Exception as exc:  # pylint: disable=broad-except
            problems.append("email: %s" % cfg.mask(exc))
    return sent, problems
