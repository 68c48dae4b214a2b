"""`celery -A services.ledger.worker worker -Q ledger`, and its scheduler
`celery -A services.ledger.worker beat` (the CRF reminder rounds on the dates staff set)."""
import os

from services.ledger.app import create_app
from shared.worker import worker_apps

flask_app, app = worker_apps(create_app)
celery = app
# Each tick only looks for dates reached and not claimed; the claim in the database makes
# a round go out once however many beats tick.
app.conf.beat_schedule = {
    "crf-reminder-rounds": {
        "task": "ledger.send_crf_reminders",
        "schedule": float(os.environ.get("REMINDER_BEAT_SECONDS", "300")),
    },
}
