"""The example survey invitations behind `response_rate`: consistent with the responses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from cxengine.scaffold import iter_invitations, iter_response_rows, write_invitations_csv
from cxengine.scaffold.invitations import COLUMNS, RESPONSE_RATE


def test_every_response_has_one_invitation_sent_before_it() -> None:
    responses = {r[0]: r for r in iter_response_rows(1500, seed=3, customers=300)}
    invitations = list(iter_invitations(1500, seed=3, customers=300))
    answered = [i for i in invitations if i[5] == "true"]
    assert sorted(i[6] for i in answered) == sorted(responses)
    for inv in answered:
        response = responses[inv[6]]
        assert inv[1] <= str(response[1])  # sent before it was answered
        assert (inv[2], inv[3], inv[4]) == (response[2], response[3], response[5])
    assert all(i[6] == "" for i in invitations if i[5] == "false")


def test_invitations_are_in_time_order_with_unique_ids() -> None:
    invitations = list(iter_invitations(1000, seed=5))
    assert [i[1] for i in invitations] == sorted(i[1] for i in invitations)
    assert len({i[0] for i in invitations}) == len(invitations)
    assert all(i[1].startswith("2025-") for i in invitations)


def test_response_rate_differs_by_channel_as_configured() -> None:
    counts = Counter((i[3], i[5]) for i in iter_invitations(4000, seed=7))
    for channel, rate in RESPONSE_RATE.items():
        sent = counts[(channel, "true")] + counts[(channel, "false")]
        assert abs(counts[(channel, "true")] / sent - rate) < 0.03


def test_written_file_is_the_generated_rows(tmp_path: Path) -> None:
    path = tmp_path / "invitations.csv"
    n = write_invitations_csv(path, 200, seed=1)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1:] == [",".join(r) for r in iter_invitations(200, seed=1)]
    assert n == len(lines) - 1


def test_invitations_carry_a_response_probability_that_falls_for_unhappy_customers() -> None:
    from cxengine.scaffold.invitations import response_probability

    responses = {r[0]: r for r in iter_response_rows(1500, seed=3, customers=300)}
    invitations = list(iter_invitations(1500, seed=3, customers=300))
    assert all(0 < float(i[7]) < 1 for i in invitations)
    for inv in (i for i in invitations if i[5] == "true"):
        response = responses[inv[6]]
        assert float(inv[7]) == round(response_probability(inv[3], response[6]), 4)
    # A detractor (5) answers less often than a promoter (10) on the same channel …
    assert response_probability("email", 5) < response_probability("email", 10)
    # … and the very unhappy (0) more than the merely unhappy.
    assert response_probability("email", 0) > response_probability("email", 5)


def test_support_answers_link_to_an_earlier_ticket_of_the_same_customer() -> None:
    from cxengine.scaffold.tickets import iter_tickets

    tickets = {t["ticket_id"]: t for t in iter_tickets(750, seed=3, customers=300)}
    rows = list(iter_response_rows(1500, seed=3, customers=300))
    linked = [r for r in rows if r[10]]
    assert all(r[2] == "support" for r in linked)
    support = [r for r in rows if r[2] == "support"]
    assert len(linked) > 0.9 * len(support)
    assert len({r[10] for r in linked}) == len(linked)  # a ticket is rated at most once
    for r in linked:
        ticket = tickets[r[10]]
        assert ticket["customer_id"] == r[5]
        assert str(ticket["created_at"]) < str(r[1])
