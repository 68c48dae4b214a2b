"""« État du système » (national administrator): the queues, the workers seen in the last
minute, each service's outbox backlog, the email log and every failed email with
« Renvoyer », and the documents not produced with « Réémettre les documents et renvoyer »
(docs/metrics.md#3, docs/reliability.md#4-tasks)."""
from flask import abort, flash, redirect, render_template, session, url_for

from web import client, pages
from web.client import ApiFailure
from web.security import staff_required
from web.staff import bp

QUEUE_LABELS = {
    "adhesion": "Adhésions", "payment": "Paiements", "documents": "Documents (PDF)",
    "notify": "E-mails transactionnels", "notify_bulk": "E-mails de relance", "ledger": "Cahier de comptes",
}
LANE_LABELS = {"transactional": "transactionnels", "bulk": "relances"}


def duration(seconds) -> str:
    """« 12 s », « 3 min 05 s », « 2 h 10 min »; « — » when not known."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@bp.get("/systeme")
@staff_required
def system():
    if not session.get("national"):
        abort(403)
    state = client.get("/api/adhesion/operations")
    try:  # the national administrator's token: every department's
        failed_documents = client.get("/api/documents/failures")["items"]
    except ApiFailure as failure:  # the page still shows the rest, and says this part is missing
        failed_documents = []
        state.setdefault("errors", {})["documents non produits"] = failure.message
    return render_template("staff/system.html", state=state, queue_labels=QUEUE_LABELS, lane_labels=LANE_LABELS,
                           duration=duration, failed_documents=failed_documents, kind_labels=pages.KIND_LABELS)


@bp.post("/systeme/documents/<number>/<year>/reemettre")
@staff_required
def reissue_failed_documents(number, year):
    """« Réémettre les documents et renvoyer » on documents not produced: drawn now, and
    the confirmation goes out with them."""
    pages.checked(number, year)
    try:
        client.post(f"/api/documents/{number}/{year}/reissue")
    except ApiFailure as failure:
        if failure.status not in (403, 404, 409, 503):
            raise
        flash(failure.message, "error")
    else:
        flash(f"Documents de {number} produits : la confirmation part avec eux.", "success")
    return redirect(url_for("staff.system"))


@bp.post("/systeme/emails/<int:message_id>/renvoyer")
@staff_required
def resend_email(message_id):
    try:
        client.post(f"/api/adhesion/operations/emails/{message_id}/resend")
    except ApiFailure as failure:
        if failure.status not in (403, 404, 409):
            raise
        flash(failure.message, "error")
    else:
        flash("L'e-mail est renvoyé : il repart par la file des e-mails transactionnels.", "success")
    return redirect(url_for("staff.system"))
