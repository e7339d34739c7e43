"""DOMAIN §8.1 over HTTP: a browser asking for a cabinet link that does not work (revoked,
replaced, never issued) gets a 404 page, in its language; a program gets the JSON error.
A cabinet page is kept by no cache."""

from __future__ import annotations

from classledger.http.openapi import openapi
from tests.http.support import Api, assert_error

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Language": "sk-SK,sk;q=0.9"}


def test_a_browser_gets_a_page_for_a_revoked_link_and_a_program_gets_json(api: Api) -> None:
    cid = api.client()
    url = api.post(f"/v1/clients/{cid}/cabinet-link", {}).json()["url"]
    page = api.http.get(url, headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert api.send("DELETE", f"/v1/clients/{cid}/cabinet-link").status_code == 200
    for gone in (url, "/cabinet/never-issued"):
        page = api.http.get(gone, headers=BROWSER)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>Tento odkaz nefunguje</h1>" in page.text
        assert "cabinet_not_found" not in page.text
        assert_error(api.http.get(gone, headers={"Accept": "application/json"}), 404, "cabinet_not_found")
        assert_error(api.http.get(gone), 404, "cabinet_not_found")  # no preference: the API's JSON
        assert_error(api.http.get(gone, headers={"Accept": "text/html, application/json"}), 404, "cabinet_not_found")


def test_the_contract_says_a_browser_gets_html() -> None:
    responses = openapi()["paths"]["/cabinet/{token}"]["get"]["responses"]
    assert set(responses["200"]["content"]) == set(responses["404"]["content"]) == {"application/json", "text/html"}
