"""« Documents non produits » on « État du système », the APIs' answers given (no I/O):
each issue given up with its reason and « Réémettre les documents et renvoyer », which
asks the documents service and comes back to the page; a part that cannot be read is said."""
import copy
import html

from tests.unit.test_issue25_staff_pages import signed_in, web  # noqa: F401 (fixture)
from web.client import ApiFailure

OPERATIONS = {"queues": [], "unacked": None, "workers": [], "outboxes": [], "emails": [], "failed_emails": [],
              "errors": {}}
REASON = ("Enregistrement des PDF impossible (OSError: [Errno 28] No space left on device). "
          "Réparez la cause puis réémettez les documents.")
ISSUE = {"cooperative": "0382296P00", "cooperative_name": "Coopérative Jean Moulin", "department": "38",
         "year": "2025-2026", "version": 1, "failure": REASON, "failed_at": "2025-09-15T08:30:00+00:00",
         "documents": [{"kind": "attestation", "number": "ATT-2026-38-000001"},
                       {"kind": "certificate", "number": "CERT-2026-38-000001"}]}


def test_documents_not_produced_are_listed_with_their_reissue(web):  # noqa: F811
    web.routes.update({("get", "/api/adhesion/operations"): lambda _: copy.deepcopy(OPERATIONS),
                       ("get", "/api/documents/failures"): {"items": [ISSUE]},
                       ("post", "/api/documents/0382296P00/2025-2026/reissue"): {"documents": []}})
    http = signed_in(web, national=True)
    page = html.unescape(http.get("/personnel/systeme").get_data(as_text=True))
    section = page.split('<h2 id="documents">Documents non produits</h2>', 1)[1]
    for expected in ("Coopérative Jean Moulin", "0382296P00", "département 38", "Attestation d'adhésion",
                     "CERT-2026-38-000001", REASON, "Réémettre les documents et renvoyer",
                     'action="/personnel/systeme/documents/0382296P00/2025-2026/reemettre"'):
        assert expected in section, expected

    answer = http.post("/personnel/systeme/documents/0382296P00/2025-2026/reemettre", data={"csrf_token": "jeton"})
    assert answer.status_code == 302 and answer.location.endswith("/personnel/systeme")
    assert ("post", "/api/documents/0382296P00/2025-2026/reissue", None, None) in web.calls


def test_none_and_unreadable_are_said(web):  # noqa: F811
    web.routes.update({("get", "/api/adhesion/operations"): lambda _: copy.deepcopy(OPERATIONS),
                       ("get", "/api/documents/failures"): {"items": []}})
    http = signed_in(web, national=True)
    assert "Aucun document en échec" in http.get("/personnel/systeme").get_data(as_text=True)
    web.routes[("get", "/api/documents/failures")] = ApiFailure(503, "Le service est momentanément indisponible.")
    page = html.unescape(http.get("/personnel/systeme").get_data(as_text=True))
    assert "documents non produits : Le service est momentanément indisponible." in page
