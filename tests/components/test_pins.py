from components.pki import merge_pins, rfc3339_to_unix

HOUR = 3600


def current(role: str, sha: str, issued: int, not_after: int) -> dict[str, object]:
    return {"role": role, "sha256": sha, "issued_at_unix": issued, "not_after_unix": not_after}


def test_first_deploy_pins_only_current_certificates_until_their_not_after() -> None:
    pins = merge_pins(None, [current("api", "a1", 1000, 9000), current("ingestion", "i1", 1000, 9500)], 72)
    assert pins == [
        {"role": "api", "sha256": "a1", "state": "current", "not_after_unix": 9000, "accept_until_unix": 9000},
        {"role": "ingestion", "sha256": "i1", "state": "current", "not_after_unix": 9500, "accept_until_unix": 9500},
    ]


def test_replaced_certificate_stays_accepted_for_the_grace_after_its_successor_was_issued() -> None:
    before = merge_pins(None, [current("api", "a1", 0, 100 * HOUR)], 72)
    after = merge_pins(before, [current("api", "a2", 10 * HOUR, 110 * HOUR)], 72)
    previous = [p for p in after if p["state"] == "previous"]
    assert previous == [
        {
            "role": "api",
            "sha256": "a1",
            "state": "previous",
            "not_after_unix": 100 * HOUR,
            "accept_until_unix": 82 * HOUR,
        }
    ]


def test_grace_never_extends_past_the_old_certificate_not_after() -> None:
    before = merge_pins(None, [current("api", "a1", 0, 20 * HOUR)], 72)
    after = merge_pins(before, [current("api", "a2", 10 * HOUR, 110 * HOUR)], 72)
    assert [p["accept_until_unix"] for p in after if p["sha256"] == "a1"] == [20 * HOUR]


def test_re_running_without_rotation_keeps_the_retired_deadline() -> None:
    first = merge_pins(None, [current("api", "a1", 0, 100 * HOUR)], 72)
    rotated = merge_pins(first, [current("api", "a2", 10 * HOUR, 110 * HOUR)], 72)
    again = merge_pins(rotated, [current("api", "a2", 10 * HOUR, 110 * HOUR)], 72)
    assert again == rotated


def test_only_the_latest_previous_certificate_is_kept_per_role() -> None:
    pins = merge_pins(None, [current("api", "a1", 0, 1000 * HOUR)], 72)
    pins = merge_pins(pins, [current("api", "a2", 10 * HOUR, 1000 * HOUR)], 72)
    pins = merge_pins(pins, [current("api", "a3", 20 * HOUR, 1000 * HOUR)], 72)
    assert [(p["sha256"], p["state"]) for p in pins] == [("a3", "current"), ("a2", "previous")]
    assert pins[1]["accept_until_unix"] == 92 * HOUR


def test_zero_grace_refuses_the_old_certificate_from_the_rotation_on() -> None:
    pins = merge_pins(None, [current("ingestion", "i1", 0, 100 * HOUR)], 0)
    pins = merge_pins(pins, [current("ingestion", "i2", 5 * HOUR, 105 * HOUR)], 0)
    assert [p["accept_until_unix"] for p in pins if p["sha256"] == "i1"] == [5 * HOUR]


def test_pins_of_roles_that_no_longer_exist_are_dropped() -> None:
    previous = [{"role": "legacy", "sha256": "x", "state": "current", "not_after_unix": 1, "accept_until_unix": 1}]
    assert [p["role"] for p in merge_pins(previous, [current("api", "a1", 0, 10)], 72)] == ["api"]


def test_rfc3339_parsing() -> None:
    assert rfc3339_to_unix("1970-01-01T01:00:00Z") == 3600
    assert rfc3339_to_unix("2027-11-24T03:35:30+00:00") == 1827027330
