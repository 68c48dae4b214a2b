"""Issue 25 (items 3, 5, 9, 10, 11) on the staff and school pages, the API's answers given
(no I/O): what staff did is never lost, one click never deactivates, the email log comes in
pages, a split is the one-click proposal, a reversal is said to staff and school alike, a
cheque is found by the school's name, the adhesion entry proposes one line per payment."""
import html
import re

import pytest

from shared.payment_reference import format_reference, payment_reference
from web import client as web_client
from web.app import create_app
from web.client import ApiFailure
from web.security import seal

YEAR = "2025-2026"
NUMBER = "0692296P00"


@pytest.fixture
def web(tmp_path, monkeypatch):
    """The pages' app; ``app.routes[(method, path)]`` answers each API call (a value, a
    callable of the call's kwargs, or an ApiFailure to raise); every call is recorded."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("SCHOOL_YEAR", YEAR)
    app = create_app()
    app.calls, app.routes = [], {}

    def call(method, path, **kwargs):
        app.calls.append((method, path, kwargs.get("json"), kwargs.get("params")))
        answer = app.routes.get((method, path))
        if answer is None:
            raise AssertionError(f"unexpected API call {method} {path}")
        if isinstance(answer, ApiFailure):
            raise answer
        return answer(kwargs) if callable(answer) else answer

    monkeypatch.setattr(web_client, "call", call)
    return app


def signed_in(app, role="staff", national=False, department="69", cooperative=None):
    http = app.test_client()
    with app.test_request_context():
        token = seal("api-token")
    with http.session_transaction() as session:
        session.update(token=token, role=role, login="rhone" if role == "staff" else NUMBER, department=department,
                       national=national, cooperative=cooperative, csrf="jeton", department_name="OCCE du Rhône")
    return http


DEPARTMENTS = {"items": [{"number": "38", "name": "OCCE de l'Isère", "insurer": "", "contract": ""},
                         {"number": "69", "name": "OCCE du Rhône", "insurer": "", "contract": ""}]}


def settings_routes(app):
    app.routes.update({
        ("get", "/api/adhesion/departments/69"): {"number": "69", "name": "OCCE du Rhône"},
        ("get", "/api/adhesion/departments"): DEPARTMENTS,
        ("get", "/api/adhesion/staff"): {"items": []},
    })


# --- item 9: staff forms that lose what was done ------------------------------------------------


def test_a_refused_staff_account_keeps_its_department_and_states_the_password_rule(web):
    settings_routes(web)
    web.routes[("post", "/api/adhesion/staff")] = ApiFailure(
        422, "Certaines valeurs sont invalides.", {"password": ["Le mot de passe doit compter au moins 8 caractères "
                                                                "(200 au plus)."]})
    http = signed_in(web, national=True)
    page = http.post("/personnel/departement/personnel", data={
        "csrf_token": "jeton", "login": "nouveau", "email": "n@example.org", "password": "court", "department": "38"})
    assert page.status_code == 422
    assert re.search(r'<option value="38"\s+selected>', page.text), "the department chosen is kept"
    assert not re.search(r'<option value="69"\s+selected>', page.text.split('id="staff_department"')[1].split("</select>")[0])
    assert re.search(r'id="staff_password"[^>]*aria-invalid="true"', page.text)
    assert "au moins 8 caractères" in page.text and "8 caractères au moins." in page.text


def test_an_empty_department_form_marks_each_invalid_field(web):
    settings_routes(web)
    web.routes[("post", "/api/adhesion/departments")] = ApiFailure(
        422, "Certaines valeurs sont invalides.", {"number": ["Numéro de département : 38, 974, 2A…"],
                                                   "name": ["Champ obligatoire."]})
    page = signed_in(web, national=True).post("/personnel/departement/nouveau", data={"csrf_token": "jeton"})
    assert page.status_code == 422
    for field in ("department_number", "department_name"):
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page.text), field
    assert "Champ obligatoire." in page.text


ADHESION = {
    "cooperative": {"number": NUMBER, "name": "École Jules Ferry", "town": "Mions", "email": "e@example.org",
                    "department": "69"},
    "department": {"name": "OCCE du Rhône"}, "year": YEAR, "status": "submitted", "late": False,
    "classes": [{"name": "CP", "teachers": "", "teacher_count": 1, "student_count": 20, "total": 21}],
    "totals": {"teachers": 1, "students": 20, "cooperators": 21}, "insurance": True,
    "goods_value": "0.00", "instruments_value": "0.00",
    "payment": {"transfer": True, "cheque": True, "other": False},
    "amounts": {"membership": "47.46", "insurance": "5.25", "goods": "0.00", "instruments": "0.00", "total": "52.71"},
    "checklist": {"payment_received": True, "engagement_signed": False, "change_form": "not_required",
                  "amount_paid": "52.71", "amount_due": "52.71", "payment_methods": ["cheque"]},
    "registration_code": None, "correction_message": "", "submitted_at": None,
}
RATES = {"fee_per_student": "2.26", "fee_per_adult": "2.26", "fee_per_cooperative": "0.00",
         "insurance_per_cooperator": "0.25", "goods_threshold": "2000.00", "goods_rate": "0.00688",
         "instruments_threshold": "0.00", "instruments_rate": "0.00688",
         "renewal_opens": "2025-09-01", "renewal_closes": "2025-09-30"}


def adhesion_routes(app, adhesion=ADHESION, dues=None, payments=()):
    base = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    app.routes.update({
        ("get", base): adhesion, ("get", f"/api/adhesion/rates/{YEAR}"): RATES,
        ("get", f"/api/payment/dues/{NUMBER}/{YEAR}"): dues or {
            "amount_due": "52.71", "amount_paid": "52.71", "balance": "0.00", "status": "paid", "methods": ["cheque"],
            "attention": ""},
        ("get", "/api/payment/payments"): {"items": list(payments)},
        ("get", f"/api/documents/{NUMBER}/{YEAR}"): {"documents": []},
        ("get", "/api/audit/events"): {"items": []},
    })
    return base


def test_validating_saves_the_engagement_ticked_on_the_page_first(web):
    base = adhesion_routes(web)
    web.routes[("patch", f"{base}/checklist")] = {}
    web.routes[("post", f"{base}/validate")] = {"registration_code": "26/0001 A"}
    http = signed_in(web)
    page = http.get(f"/personnel/adhesions/{NUMBER}/{YEAR}")
    button = re.search(r'<button[^>]*form="checklist-form"[^>]*>Valider l', page.text)
    assert button, "« Valider l'adhésion » sends the checklist's form"
    http.post(f"/personnel/adhesions/{NUMBER}/{YEAR}/validation", data={
        "csrf_token": "jeton", "checklist": "oui", "engagement_signed": "oui", "change_form": "not_required"})
    writes = [(method, path, body) for method, path, body, _ in web.calls if method != "get"]
    assert writes == [("patch", f"{base}/checklist", {"engagement_signed": True, "change_form": "not_required"}),
                      ("post", f"{base}/validate", {})]


def test_deactivating_a_school_asks_for_confirmation(web):
    detail = {"number": NUMBER, "name": "École Jules Ferry", "town": "Mions", "email": "e@example.org",
              "department": "69", "active": True, "changes": []}
    web.routes[("get", f"/api/adhesion/cooperatives/{NUMBER}/detail")] = detail
    web.routes[("patch", f"/api/adhesion/cooperatives/{NUMBER}")] = detail
    http = signed_in(web)
    page = http.post(f"/personnel/cooperatives/{NUMBER}/activation", data={"csrf_token": "jeton", "active": "non"})
    assert page.status_code == 200 and "Oui, désactiver la coopérative" in page.text
    assert not [c for c in web.calls if c[0] == "patch"], "one click deactivates nothing"
    done = http.post(f"/personnel/cooperatives/{NUMBER}/activation",
                     data={"csrf_token": "jeton", "active": "non", "confirmation": "oui"})
    assert done.status_code == 302
    assert [c[2] for c in web.calls if c[0] == "patch"] == [{"active": False}]


# --- item 4: the national administrator in the pages -----------------------------------------------


def test_the_national_administrator_switches_department_and_may_confirm_a_number(web):
    settings_routes(web)
    web.routes[("post", "/api/auth/department")] = {"token": "token-38", "department": "38", "national": True}
    web.routes[("get", "/api/adhesion/departments/38")] = {"number": "38", "name": "OCCE de l'Isère"}
    http = signed_in(web, national=True)
    assert "Changer de département" in http.get("/personnel/departement").text
    assert http.post("/personnel/departement/changer", data={"csrf_token": "jeton", "department": "38"}).status_code == 302
    with http.session_transaction() as session:
        assert session["department"] == "38" and session["department_name"] == "OCCE de l'Isère"
    web.routes[("post", "/api/adhesion/cooperatives")] = ApiFailure(
        422, "Ce numéro commence par 069 …", {"number": ["Ce numéro commence par 069 …"]},
        {"may_override": True, "other_department": "69"})
    page = http.post("/personnel/cooperatives/nouvelle", data={
        "csrf_token": "jeton", "number": NUMBER, "name": "É", "town": "M", "email": "e@example.org", "password": "x" * 8})
    assert page.status_code == 422 and 'name="other_department"' in page.text
    assert web.calls[-1][2]["other_department"] is False
    confirmed = http.post("/personnel/cooperatives/nouvelle", data={
        "csrf_token": "jeton", "number": NUMBER, "name": "É", "town": "M", "email": "e@example.org",
        "password": "x" * 8, "other_department": "oui"})
    assert confirmed.status_code == 422 and web.calls[-1][2]["other_department"] is True
    web.routes[("post", "/api/adhesion/cooperatives")] = ApiFailure(
        422, "Ce numéro commence par 038 …", {"number": ["Ce numéro commence par 038 …"]},
        {"may_override": False, "other_department": "38"})
    page = signed_in(web).post("/personnel/cooperatives/nouvelle", data={
        "csrf_token": "jeton", "number": NUMBER, "name": "É", "town": "M", "email": "e@example.org", "password": "x" * 8})
    assert page.status_code == 422 and 'name="other_department"' not in page.text


# --- item 11: the email log in pages -----------------------------------------------------------------


def test_the_email_log_comes_in_pages_with_filters(web):
    message = {"created_at": "2025-09-10T08:00:00+00:00", "to": "e@example.org", "cooperative": NUMBER,
               "subject": "Rappel", "kind": "renewal_reminder", "status": "sent", "attempts": 1,
               "sent_at": "2025-09-10T08:00:01+00:00", "last_error": "", "year": YEAR}
    web.routes[("get", "/api/notify/messages")] = lambda kwargs: {"items": [message] * kwargs["params"]["limit"]}
    web.routes[("get", "/api/documents/failures")] = {"items": []}
    page = signed_in(web).get(f"/personnel/emails?page=2&annee={YEAR}&statut=sent")
    assert page.status_code == 200
    params = next(call for call in web.calls if call[1] == "/api/notify/messages")[3]
    assert params["offset"] == 50 and params["limit"] == 51 and params["year"] == YEAR and params["status"] == "sent"
    assert page.text.count("<tr>") == 50 + 1  # the header row and one page
    assert "Plus anciens" in page.text and "Plus récents" in page.text and "page=3" in page.text


# --- item 5: the split is the one-click proposal ---------------------------------------------------


def test_a_split_is_the_one_click_proposal_and_singles_say_they_take_it_all(web):
    split = [{"cooperative": "0691111A00", "year": YEAR, "amount": "314.52"},
             {"cooperative": "0692222B00", "year": YEAR, "amount": "456.20"}]
    line = {"id": 7, "statement": 3, "booked_on": "2025-09-16", "amount": "770.72", "status": "suggested",
            "label": "MANDAT ECOLES BALZAC ET JULES FERRY", "payer": "COMMUNE DE MIONS", "payer_iban": "",
            "bank_ref": "", "decided_by": "", "decided_at": None, "suggestions": [
                {"cooperative": "0691111A00", "year": YEAR, "name": "Balzac", "amount": "314.52", "score": 0.75,
                 "reasons": ["split", "amount_due"], "split": split},
                {"cooperative": "0692222B00", "year": YEAR, "name": "Jules Ferry", "amount": "456.20", "score": 0.75,
                 "reasons": ["split", "amount_due"], "split": split},
                {"cooperative": "0692222B00", "year": YEAR, "name": "Jules Ferry", "amount": "770.72", "score": 0.62,
                 "reasons": ["name", "town"]}]}
    web.routes[("get", "/api/payment/statements/3/lines")] = {"items": [line]}
    page = signed_in(web).get("/personnel/releves/3").text
    first = re.search(r'<button type="submit"[^>]*>([^<]+)</button>', page.split('id="ligne-7"')[1]).group(1)
    assert first == "Confirmer la répartition"
    assert "Paiement groupé proposé" in page and 'aria-label="Tout attribuer à Jules Ferry"' in page
    form = page.split('id="ligne-7"')[1].split("</form>")[0]
    assert re.findall(r'name="amount" value="([^"]+)"', form) == ["314.52", "456.20"]


# --- item 10: after a reversal -------------------------------------------------------------------------


VALIDATED = {**ADHESION, "status": "validated", "registration_code": "26/0012 A",
             "checklist": {**ADHESION["checklist"], "payment_received": False, "amount_paid": "0.00",
                           "engagement_signed": True}}
REVERSED_DUES = {"amount_due": "52.71", "amount_paid": "0.00", "balance": "52.71", "status": "unpaid",
                 "methods": ["cheque"], "validated": True, "reference_display": format_reference(payment_reference(NUMBER, YEAR)),
                 "attention": "Adhésion validée dont le paiement n'est plus complet (paiement annulé) : à régulariser."}


def test_staff_no_longer_read_the_payment_was_received_after_its_reversal(web):
    adhesion_routes(web, VALIDATED, REVERSED_DUES)
    page = signed_in(web).get(f"/personnel/adhesions/{NUMBER}/{YEAR}").text
    assert "a bien reçu le paiement" not in page
    assert "Le paiement n'est plus complet depuis la validation" in page and "reste 52,71 €" in page


def test_the_school_sees_no_bravo_and_is_told_after_a_reversal(web):
    adhesion_routes(web, VALIDATED, REVERSED_DUES)
    page = signed_in(web, role="school", cooperative=NUMBER).get("/accueil").text
    assert "Bravo" not in page
    assert "Un paiement a été annulé" in page and "Comment payer" in page and format_reference(payment_reference(NUMBER, YEAR)) in page
    paid = {**VALIDATED, "checklist": {**VALIDATED["checklist"], "payment_received": True, "amount_paid": "52.71"}}
    adhesion_routes(web, paid)
    assert "Bravo" in signed_in(web, role="school", cooperative=NUMBER).get("/accueil").text


def slip_routes(app, listing):
    app.routes.update({
        ("get", "/api/payment/cheque-slips/5"): {"id": 5, "number": "2025-0001", "status": "open", "count": 0,
                                                 "total": "0.00", "account": "", "cheques": []},
        ("get", "/api/adhesion/cooperatives"): lambda kwargs: listing(kwargs["params"]),
    })


def test_a_cheque_is_found_by_the_schools_name(web):
    ferry = {"number": NUMBER, "name": "École Jules Ferry", "town": "Mions", "status": "submitted"}
    ferry_bron = {"number": "0694444D00", "name": "École Jules Ferry", "town": "Bron", "status": "submitted"}
    slip_routes(web, lambda params: {"items": [ferry], "total": 1} if "mions" in params["q"] else
                {"items": [ferry, ferry_bron], "total": 2})
    web.routes[("post", "/api/payment/cheque-slips/5/cheques")] = lambda kwargs: {
        "cheque_number": "123", "cooperative": kwargs["json"]["cooperative"]}
    http = signed_in(web)
    form = {"csrf_token": "jeton", "cooperative": "jules ferry mions", "year": YEAR, "amount": "52,71",
            "cheque_number": "123", "bank": "CM", "drawer": "COOP"}
    assert http.post("/personnel/remises/5/cheques", data=form).status_code == 302
    assert web.calls[-1][2]["cooperative"] == NUMBER and web.calls[-1][2]["amount"] == "52.71"
    page = http.post("/personnel/remises/5/cheques", data={**form, "cooperative": "jules ferry"})
    assert page.status_code == 422 and "Laquelle ?" in page.text and 'value="0694444D00"' in page.text
    chosen = http.post("/personnel/remises/5/cheques", data={**form, "cooperative": "jules ferry",
                                                             "cooperative_choice": "0694444D00"})
    assert chosen.status_code == 302 and web.calls[-1][2]["cooperative"] == "0694444D00"


def test_a_cheque_before_the_adhesion_is_sent_is_explained(web):
    draft = {"number": NUMBER, "name": "École Jules Ferry", "town": "Mions", "status": "not_started"}
    slip_routes(web, lambda params: {"items": [draft], "total": 1})
    web.routes[("post", "/api/payment/cheque-slips/5/cheques")] = ApiFailure(
        409, f"L'adhésion {NUMBER} {YEAR} n'a pas encore été saisie : le montant dû n'est pas connu.",
        {"cooperative": ["Aucune adhésion saisie pour cette coopérative et cette année."]})
    page = signed_in(web).post("/personnel/remises/5/cheques", data={
        "csrf_token": "jeton", "cooperative": NUMBER, "year": YEAR, "amount": "52,71", "cheque_number": "123",
        "bank": "", "drawer": ""})
    assert page.status_code == 422
    text = html.unescape(page.text)
    assert "n'a pas encore envoyé son adhésion 2025 - 2026" in text and "Gardez-le de côté" in text


# --- item 3: one line per payment in the cahier -------------------------------------------------


def test_the_adhesion_entry_proposes_one_line_per_payment_dated_as_paid(web):
    proposal = {"amount": "335.46", "allocations": [], "method": "cheque", "account": "bank", "date": "2025-12-03",
                "first_entry": True, "written": False, "label": "Adhésion et assurance OCCE 2025 - 2026", "piece": None}
    book = f"/api/ledger/books/{NUMBER}/{YEAR}"
    web.routes.update({
        ("get", f"{book}/adhesion-entry"): proposal,
        ("get", f"/api/payment/dues/{NUMBER}/{YEAR}/payments"): {"items": [
            {"amount": "150.00", "method": "cheque", "reference": "0001234", "received_on": "2025-09-12"},
            {"amount": "185.46", "method": "transfer", "reference": "VIR", "received_on": "2025-09-19"}]},
        ("post", f"{book}/adhesion-entry"): {"piece": "D01"},
    })
    http = signed_in(web, role="school", cooperative=NUMBER)
    page = http.get(f"/cahier/{YEAR}/adhesion").text
    assert "Paiement 1" in page and "Paiement 2" in page
    assert 'value="2025-09-12"' in page and 'value="2025-09-19"' in page and 'value="0001234"' in page
    done = http.post(f"/cahier/{YEAR}/adhesion", data={
        "csrf_token": "jeton", "voucher": "PJ 3",
        "lines-0-date": "2025-09-12", "lines-0-method": "cheque", "lines-0-account": "bank", "lines-0-cheque_number": "0001234",
        "lines-1-date": "2025-09-19", "lines-1-method": "transfer", "lines-1-account": "bank", "lines-1-cheque_number": ""})
    assert done.status_code == 302
    assert web.calls[-1][2] == {"voucher": "PJ 3", "lines": [
        {"date": "2025-09-12", "amount": "150.00", "method": "cheque", "account": "bank", "cheque_number": "0001234"},
        {"date": "2025-09-19", "amount": "185.46", "method": "transfer", "account": "bank", "cheque_number": ""}]}
