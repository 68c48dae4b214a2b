"""``/api/adhesion/operations``: « État du système » for the national administrator."""
from flask_smorest import Blueprint

from services.adhesion import operations
from services.adhesion.schemas import OperationsOut, ResentOut
from shared.auth import current_principal, staff_required
from shared.service import service

blp = Blueprint("operations", __name__, url_prefix="/api/adhesion/operations", description="État du système")


@blp.get("")
@staff_required
@blp.response(200, OperationsOut)
def status():
    """Queues, workers seen in the last minute, outbox backlogs, the email log and every
    department's failed emails (national administrator only)."""
    return operations.status(service(), current_principal())


@blp.post("/emails/<int:message_id>/resend")
@staff_required
@blp.response(200, ResentOut)
def resend(message_id):
    """« Renvoyer » a failed email on the transactional lane (national administrator only)."""
    return operations.resend(service(), current_principal(), message_id)
