"""Issue 25 §4: a cooperative number whose UAI names another department of the install is
refused (the national administrator may confirm it), the national administrator moves a
cooperative between departments and works in any department with a token of that one."""
from tests.integration.test_adhesion_api import YEAR
from tests.support import GUIDE

ISERE_SCHOOL = "0382296P00"  # 038: an Isère school
RHONE_SCHOOL = "0690501V00"


def coop(number, **extra):
    return {"number": number, "name": "École Jules Ferry", "town": "Mions", "email": "ecole@example.org",
            "password": "mot-de-passe-1", **extra}


def rhone(client, staff):
    assert client.post("/api/adhesion/departments", headers=staff, json={
        "number": "69", "name": "OCCE du Rhône", "insurer": "MAE – MAIF", "contract": ""}).status_code == 201
    assert client.post("/api/adhesion/staff", headers=staff, json={
        "login": "rhone", "password": "rhone-secret", "department": "69", "email": "staff@occe69.fr"}).status_code == 201
    return client.login("rhone", "rhone-secret")


def test_a_number_of_another_department_is_refused_to_its_staff(client, staff):
    rhone_staff = rhone(client, staff)
    refused = client.post("/api/adhesion/cooperatives", headers=rhone_staff, json=coop(ISERE_SCHOOL))
    assert refused.status_code == 422
    assert "département 38" in refused.json["fields"]["number"][0] and refused.json["may_override"] is False
    # staff cannot override it
    again = client.post("/api/adhesion/cooperatives", headers=rhone_staff, json=coop(ISERE_SCHOOL, other_department=True))
    assert again.status_code == 422
    assert client.post("/api/adhesion/cooperatives", headers=rhone_staff, json=coop(RHONE_SCHOOL)).status_code == 201
    body = f"number;name;town;email\n{ISERE_SCHOOL};École;Vienne;a@example.org\n".encode()
    imported = client.post("/api/adhesion/cooperatives/import", headers=rhone_staff, data=body, content_type="text/csv")
    assert imported.status_code == 422 and imported.json["errors"][0]["field"] == "number"
    # Isère creates its own school as before
    assert client.post("/api/adhesion/cooperatives", headers=staff, json=coop(ISERE_SCHOOL)).status_code == 201


def test_the_national_administrator_may_confirm_switch_and_move(client, staff):
    rhone_staff = rhone(client, staff)
    switched = client.post("/api/auth/department", headers=staff, json={"department": "69"})
    assert switched.status_code == 200, switched.json
    assert switched.json["department"] == "69" and switched.json["national"] is True
    national_69 = {"Authorization": f"Bearer {switched.json['token']}"}
    warned = client.post("/api/adhesion/cooperatives", headers=national_69, json=coop(ISERE_SCHOOL))
    assert warned.status_code == 422 and warned.json["may_override"] is True
    created = client.post("/api/adhesion/cooperatives", headers=national_69, json=coop(ISERE_SCHOOL, other_department=True))
    assert created.status_code == 201 and created.json["department"] == "69"
    assert client.get(f"/api/adhesion/cooperatives/{ISERE_SCHOOL}", headers=rhone_staff).status_code == 200
    # in Isère the national administrator is told where it is; Isère staff only that it is not theirs
    stuck = client.post("/api/adhesion/cooperatives", headers=staff, json=coop(ISERE_SCHOOL))
    assert stuck.status_code == 409 and stuck.json["department"] == "69"
    # staff may neither switch nor move
    assert client.post("/api/auth/department", headers=rhone_staff, json={"department": "38"}).status_code == 403
    assert client.patch(f"/api/adhesion/cooperatives/{ISERE_SCHOOL}", headers=rhone_staff,
                        json={"department": "38"}).status_code == 403
    assert client.post("/api/auth/department", headers=staff, json={"department": "74"}).status_code == 404
    moved = client.patch(f"/api/adhesion/cooperatives/{ISERE_SCHOOL}", headers=staff, json={"department": "38"})
    assert moved.status_code == 200, moved.json
    assert moved.json["department"] == "38" and moved.json["changes"][0]["field"] == "department"
    assert client.get(f"/api/adhesion/cooperatives/{ISERE_SCHOOL}", headers=staff).json["department"] == "38"
    assert client.get(f"/api/adhesion/cooperatives/{ISERE_SCHOOL}", headers=rhone_staff).status_code == 403
    # its login follows: the school signs in as an Isère school
    assert client.post("/api/auth/login", json={"login": ISERE_SCHOOL, "password": "mot-de-passe-1"}).json[
        "department"] == "38"


def test_a_cooperative_that_sent_its_adhesion_stays_where_it_is(client, staff):
    rhone(client, staff)
    assert client.post("/api/adhesion/cooperatives", headers=staff, json=coop(ISERE_SCHOOL)).status_code == 201
    school = client.login(ISERE_SCHOOL, "mot-de-passe-1")
    path = f"/api/adhesion/adhesions/{ISERE_SCHOOL}/{YEAR}"
    assert client.put(path, headers=school, json=GUIDE).status_code == 200
    assert client.post(f"{path}/submit", headers=school).status_code == 200
    refused = client.patch(f"/api/adhesion/cooperatives/{ISERE_SCHOOL}", headers=staff, json={"department": "69"})
    assert refused.status_code == 409 and "department" in refused.json["fields"]
