"""Issue 25 §11: the email log in pages (``?offset=`` with ``limit``), newest first, never
a page of another department's emails."""
from tests.integration.test_notify_service import (  # noqa: F401 (fixtures)
    COOPERATIVE,
    DEPARTMENT,
    STAFF,
    app,
    deliver,
    documents_api,
    log,
    on_adhesion_submitted,
    settings,
    sink,
    submitted,
)


def test_the_log_comes_a_page_at_a_time(app, sink):  # noqa: F811
    numbers = [f"03800{i:02d}A00" for i in range(5)]
    for number in numbers:
        deliver(app, on_adhesion_submitted, submitted(cooperative={**COOPERATIVE, "number": number,
                                                                   "email": f"ce.{number.lower()}@example.org"}))
    deliver(app, on_adhesion_submitted, submitted(cooperative={**COOPERATIVE, "number": "0690001B00", "department": "69"},
                                                  department={**DEPARTMENT, "code": "69"}))
    newest_first = [m["cooperative"] for m in log(app)]
    assert newest_first == numbers[::-1]
    pages = [[m["cooperative"] for m in log(app, limit=2, offset=offset)] for offset in (0, 2, 4, 6)]
    assert pages == [numbers[:2:-1][:2], numbers[2:0:-1], [numbers[0]], []]
    assert [m["cooperative"] for m in log(app, limit=2, offset=1, year="2025-2026")] == newest_first[1:3]
    response = app.test_client().get("/api/notify/messages?offset=-1", headers=STAFF)
    assert response.status_code == 422 and "offset" in response.json["fields"]
