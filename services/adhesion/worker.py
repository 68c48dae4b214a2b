"""`celery -A services.adhesion.worker worker -Q adhesion`, and its scheduler
`celery -A services.adhesion.worker beat` (the reminder rounds on the dates staff set)."""
import os

from services.adhesion.app import create_app
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
    # sign-in records, email bodies, accounting beyond each department's retention
    "retention": {
        "task": "adhesion.apply_retention",
        "schedule": float(os.environ.get("RETENTION_BEAT_SECONDS", "86400")),
    },
}
