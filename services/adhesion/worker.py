"""`celery -A services.adhesion.worker worker -Q adhesion`, and its scheduler
`celery -A services.adhesion.worker beat` (the reminder rounds on the dates staff set, and
the daily expiry of SEPA mandates, a task the payment worker runs: tasks are routed by name)."""
import os

from services.adhesion.app import create_app
from shared.events import queues_of, service_names
from shared.liveness import heartbeat_schedule
from shared.worker import worker_apps

flask_app, app = worker_apps(create_app)
celery = app
# Each tick only looks for dates reached and not sent; the claim in the database makes
# a round go out once however many beats tick (two beats, a restarted one).
app.conf.beat_schedule = {
    "reminder-rounds": {
        "task": "adhesion.send_scheduled_reminders",
        "schedule": float(os.environ.get("REMINDER_BEAT_SECONDS", "300")),
    },
    # every queue gets something to take, so a worker that stopped consuming is noticed (shared/liveness.py)
    **heartbeat_schedule(queue for service in service_names() for queue in queues_of(service)),
    "mandate-expiry": {  # idempotent: a mandate unused for 36 months expires once
        "task": "payment.expire_mandates",
        "schedule": 24 * 3600.0,
    },
    # sign-in records, email bodies, accounting beyond each department's retention
    "retention": {
        "task": "adhesion.apply_retention",
        "schedule": float(os.environ.get("RETENTION_BEAT_SECONDS", "86400")),
    },
}
