"""Issue 25 §3: the payments a school made, one per payment, net of reversals, for the
line-per-payment adhesion entry of its cahier de comptes (GET dues/…/payments)."""
from tests.integration.test_payment_service import (  # noqa: F401 (fixtures)
    DUES,
    INTRUDER,
    SCHOOL,
    STAFF,
    STAFF_69,
    app,
    client,
    deliver,
    pay,
    submitted,
)


def test_each_payment_net_of_reversals_oldest_first(app, client):  # noqa: F811
    assert client.get(f"{DUES}/payments", headers=SCHOOL).status_code == 404  # before the submission
    assert deliver(app, submitted(amount_due="335.46"))
    cheque = pay(client, "150.00", reference="0001234", received_on="2025-09-12").json["payment"]
    pay(client, "185.46", method="transfer", reference="VIR MAIRIE", received_on="2025-09-19")
    wrong = pay(client, "20.00", method="cash", reference="", received_on="2025-09-20").json["payment"]
    assert client.post(f"/api/payment/payments/{wrong['id']}/reverse", headers=STAFF,
                       json={"reason": "Erreur de saisie"}).status_code == 201
    partly = pay(client, "10.00", method="cheque", reference="77", received_on="2025-09-21").json["payment"]
    assert client.post(f"/api/payment/payments/{partly['id']}/reverse", headers=STAFF,
                       json={"reason": "Remboursement", "amount": "4.00"}).status_code == 201

    answer = client.get(f"{DUES}/payments", headers=SCHOOL)
    assert answer.status_code == 200, answer.json
    assert [(i["received_on"], i["amount"], i["method"], i["reference"]) for i in answer.json["items"]] == [
        ("2025-09-12", "150.00", "cheque", "0001234"), ("2025-09-19", "185.46", "transfer", "VIR MAIRIE"),
        ("2025-09-21", "6.00", "cheque", "77")]
    assert cheque["amount"] == "150.00"
    assert client.get(f"{DUES}/payments", headers=STAFF).json == answer.json
    assert client.get(f"{DUES}/payments", headers=INTRUDER).status_code == 403
    assert client.get(f"{DUES}/payments", headers=STAFF_69).status_code == 403
