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
