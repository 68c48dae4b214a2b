"""A payment staff reverse (a cheque returned unpaid, a transfer rejected, a typing error)
emails the school once, on the transactional lane: the payment app's outbox publishes
``payment.reversed`` to the real broker, a real notify worker sends it to a real SMTP
server, read back. A direct debit the bank returned is not told twice: the reversal it
makes publishes no ``payment.reversed`` (its own email says it). Issue 25, item 10."""
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from contracts import adhesion as adhesion_events
from deploy.redis_server import free_port
from deploy.smtp_sink import MailSink
from services.notify.app import create_app as create_notify_app
from services.payment import service as payment_service
from services.payment.app import create_app as create_payment_app
from services.payment.handlers import on_adhesion_submitted
from services.payment.models import OutboxEvent, Payment
from shared.auth import Principal
from tests.quiet import quiet
from tests.support import Worker, bearer_for, env_for, test_settings, wait_for

YEAR = "2025-2026"
MOULIN, HUGO = "0382296P00", "0382222B00"
STAFF_PRINCIPAL = Principal(login="admin", role="staff", department="38")
STAFF = bearer_for(STAFF_PRINCIPAL)
DEPARTMENT = {"code": "38", "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": "",
              "sender_name": "OCCE 38", "address": "11 rue Émile Zola, 38000 Grenoble", "phone": "",
              "email": "occe38@example.org", "payee": "OCCE 38", "iban": "FR7630004000031234567890143",
              "bic": "BNPAFRPPXXX"}


def email_of(number: str) -> str:
    return f"ce.{number.lower()[:8]}@ac-grenoble.fr"


@pytest.fixture
def sink(tmp_path):
    with MailSink(tmp_path / "mail", port=free_port()) as running:
        yield running


@pytest.fixture
def settings(tmp_path, database_url, redis_url, sink):
    return test_settings(tmp_path, database_url, broker_url=redis_url, smtp_host="127.0.0.1", smtp_port=sink.port,
                         internal_api_url=f"http://127.0.0.1:{free_port()}")


def submit(app, number: str, amount_due: str) -> None:
    example = adhesion_events.SUBMITTED.example
    envelope = adhesion_events.SUBMITTED.build({
        **example, "cooperative": {"number": number, "name": "École Élémentaire Jean Moulin", "town": "VIENNE",
                                   "email": email_of(number), "department": "38"},
        "department": DEPARTMENT, "year": YEAR, "revision": 1, "amount_due": amount_due,
        "amounts": {**example["amounts"], "total": amount_due}}).to_dict()
    with app.app_context():
        assert on_adhesion_submitted(envelope)


def pay(client, number: str, amount: str, method: str = "cheque") -> dict:
    response = client.post("/api/payment/payments", headers=STAFF, json={
        "cooperative": number, "year": YEAR, "amount": amount, "method": method, "reference": "1234567",
        "received_on": "2025-09-12"})
    assert response.status_code == 201, response.json
    return response.json["payment"]


def reversed_events(app) -> list[dict]:
    with app.extensions["service"].database.session() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "payment.reversed")
                               .order_by(OutboxEvent.id)).all()
        return [json.loads(row.payload) for row in rows]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_reversal_by_staff_emails_the_school_once_with_what_remains_and_how_to_pay(make_app, settings, sink):
    make_app(create_notify_app, settings=settings)  # its store migrated for the worker
    payment = make_app(create_payment_app, settings=settings)
    client = payment.test_client()
    submit(payment, MOULIN, "439.25")
    cheque = pay(client, MOULIN, "439.25")
    with Worker("notify", env_for(settings)) as worker:
        try:
            answer = client.post(f"/api/payment/payments/{cheque['id']}/reverse", headers=STAFF,
                                 json={"reason": "Chèque impayé", "amount": "134.60"})
            assert answer.status_code == 201, answer.json
            [message] = wait_for(lambda: [m for m in sink.messages() if m["X-Retkoop-Kind"] == "payment_reversed"],
                                 timeout=60, what="the reversal's email")
            # the same event delivered again (a relay that crashed before marking it published)
            [event] = reversed_events(payment)
            payment.extensions["celery"].send_task("notify.on_payment_reversed", args=[event], queue="notify")
            quiet(settings, services=("notify",))
        except BaseException:
            print(worker.log()[-5000:])
            raise
    assert [m["X-Retkoop-Kind"] for m in sink.messages()] == ["payment_reversed"]  # once, and nothing else
    assert message["To"] == email_of(MOULIN)
    assert message["Subject"] == "Retkoop – Adhésion 2025-2026 : paiement annulé"
    assert message["Reply-To"] == "occe38@example.org"
    text = text_of(message)
    for expected in ("Un paiement a été annulé par l'OCCE 38 : le paiement par chèque reçu le 12/09/2025",
                     "Montant annulé : 134,60 €", "Motif : Chèque impayé", "Montant reçu : 304,65 €",
                     "Montant restant à régler : 134,60 €", "Comment payer",
                     "bénéficiaire OCCE 38, IBAN FR76 3000 4000 0312 3456 7890 143, BIC BNPAFRPPXXX",
                     "Référence à indiquer sur votre virement : RF37 2603 8229 6P00",
                     "Par chèque : à l'ordre de OCCE 38, à envoyer à : OCCE de l'Isère, 11 rue Émile Zola"):
        assert expected in text, expected
    html = message.get_body(("html",)).get_content()
    assert "Montant restant à régler : <strong>134,60 €</strong>" in html
    assert event["data"]["balance"] == "134.60" and event["data"]["reference"] == "RF37260382296P00"


def test_a_refund_of_an_overpayment_says_nothing_remains(make_app, settings, sink):
    payment = make_app(create_payment_app, settings=settings)
    client = payment.test_client()
    submit(payment, MOULIN, "439.25")
    transfer = pay(client, MOULIN, "478.50", method="transfer")
    assert client.post(f"/api/payment/payments/{transfer['id']}/reverse", headers=STAFF,
                       json={"reason": "Trop-perçu remboursé", "amount": "39.25"}).status_code == 201
    [event] = reversed_events(payment)
    assert (event["data"]["amount"], event["data"]["balance"], event["data"]["method"]) == ("39.25", "0.00", "transfer")
    notify = make_app(create_notify_app, settings=settings)
    from services.notify.handlers import on_payment_reversed
    with notify.app_context():
        assert on_payment_reversed(event) == "sent"
    [message] = sink.messages()
    text = text_of(message)
    assert "le paiement par virement reçu le 12/09/2025" in text and "Montant annulé : 39,25 €" in text
    assert "Montant restant à régler : rien, votre adhésion reste réglée." in text
    assert "Comment payer" not in text


def test_a_direct_debit_returned_by_the_bank_publishes_no_reversal_email(make_app, settings):
    """sepa_bank reverses with ``reverse`` inside its own step and publishes
    ``payment.direct_debit_returned``: the school gets that email, not a second one."""
    payment = make_app(create_payment_app, settings=settings)
    client = payment.test_client()
    submit(payment, HUGO, "80.50")
    debit = pay(client, HUGO, "80.50", method="direct_debit")
    with payment.extensions["service"].database.session() as session:
        original = session.get(Payment, debit["id"])
        answer = payment_service.reverse(session, STAFF_PRINCIPAL, original, "Prélèvement rejeté : Provision "
                                         "insuffisante (AM04)")
        assert answer["payment"].amount == Decimal("-80.50")
    assert reversed_events(payment) == []
    # the same payment reversed by staff by hand would have told the school
    assert client.post(f"/api/payment/payments/{debit['id']}/reverse", headers=STAFF,
                       json={"reason": "x"}).status_code == 409  # nothing left to reverse: no event either
    assert reversed_events(payment) == []
