"""Texts of the example project: the commented cxengine.yaml, the README, .gitignore."""

from __future__ import annotations

CONFIG_YAML = """\
# cxengine project file, written by `cxengine init`.
# Paths here are relative to this file, so the folder can be moved or cloned anywhere.

# SQLite database for the results: runs, metric values with n and confidence
# intervals, rejected rows, comment tags and baselines. Browse it with Datasette.
database: cx.db

# Where the metric specs live: folders of *.yaml files (one metric per file) or
# single files. The copies in metric_specs/ are the standard specs; edit them freely.
metrics:
  - metric_specs

# The data the metrics read. Each dataset names a source plugin (csv, jsonl, json,
# sqlite, parquet, excel; `cxengine sources` lists them), gives that source's own
# options inline (path, delimiter, ...) and declares typed fields:
# integer, number, string, datetime, date or boolean. A value that does not fit its
# type (a "five" in a 1-5 score, a date that is not a date) is rejected and reported
# with its row, never silently counted.
datasets:

  # Survey answers: NPS (recommend 0-10), CSAT (satisfaction 1-5) and
  # CES (effort 1-7, 7 = very easy) per touchpoint, channel and agent.
  responses:
    description: Survey responses with open comments, January-December 2025
    source: csv
    path: data/responses.csv
    key: response_id            # identifies a row in reject reports
    fields:
      response_id: string
      # Naive timestamps are read as UTC; to cut months in local time, add e.g.
      # `timezone: Europe/Moscow` to this mapping.
      submitted_at: {type: datetime}
      touchpoint: string        # website, checkout, onboarding, support, delivery, renewal
      channel: string           # web, email, phone, chat
      agent: string             # support answers only
      customer_id: string
      recommend: integer        # 0-10, "How likely are you to recommend us?"
      satisfaction: integer     # 1-5, "How satisfied are you with ...?"
      effort: integer           # 1-7, "How easy was it to solve your problem?"
      comment: string           # the open "why?" answer, English or Russian
      ticket_id: string         # support answers: the ticket they rate (in tickets.jsonl)
    # The free-text field that enrichers (NLP plugins) tag with themes and sentiment.
    comments:
      field: comment
      key: response_id          # ties each tag back to its response
      language: auto            # en, ru, ... or auto to detect per comment

  # Helpdesk export: first response time, resolution time, backlog, FCR, CSAT.
  tickets:
    description: Support tickets, 2025 (open tickets have no resolved_at)
    source: jsonl
    path: data/tickets.jsonl
    key: ticket_id
    fields:
      ticket_id: string
      created_at: datetime
      first_response_at: datetime   # empty while nobody has answered yet
      resolved_at: datetime         # empty while the ticket is open
      channel: string               # phone, chat, email, social, web_form
      agent: string
      team: string                  # tier1, tier2, billing
      customer_id: string
      first_contact_resolved: boolean
      csat: integer                 # 1-5 after closing, empty when not answered
      reopened: boolean
      first_response_min: number    # minutes to first response, as the helpdesk reports it
      wait_s: integer               # phone only: seconds on the line before pick-up

  # The customer base: retention (CRR), churn and repeat purchase rate.
  customers:
    description: Customers who signed up in 2023-2025
    source: csv
    path: data/customers.csv
    key: customer_id
    fields:
      customer_id: string
      signed_up_at: date
      churned_at: date              # empty while still a customer
      plan: string                  # basic, pro, enterprise
      region: string
      orders: integer               # purchases so far

  # Who was asked to answer the survey: the response rate (answered / invited) per
  # channel and month. Every response in responses.csv has its invitation here.
  invitations:
    description: Survey invitations, 2025 (responded = the invitation got an answer)
    source: csv
    path: data/invitations.csv
    key: invitation_id
    fields:
      invitation_id: string
      sent_at: datetime
      touchpoint: string
      channel: string               # web, email, phone, chat
      customer_id: string
      responded: boolean
      response_id: string           # the answer in responses.csv, empty when none
      # The survey tool's estimate of the chance this customer answers. Unhappy
      # customers answer less often (except the very unhappy), so the answers
      # overstate NPS; weighting them to these classes corrects for it.
      response_probability: number

  # A dataset can join two others: here each survey answer with the support ticket it
  # rates (CSAT by first-response-time band, NPS with and without a reopened ticket).
  # Fields both sides have are qualified: tickets.channel, tickets.agent, ... `run`
  # reports how many rows of each side matched.
  answered_tickets:
    description: Survey answers with the support ticket they rate
    join:
      from: responses
      to: tickets
      on: {ticket_id: ticket_id}
      how: left                     # keep every answer; inner rejects unlinked ones
      expect: one                   # an answer rates one ticket: duplicates are refused

  # Each answer with its invitation, which carries the response probability the
  # nps_invited spec weights by (non-response correction, docs/statistics.md).
  answered_invitations:
    description: Survey answers with their invitation
    join:
      from: responses
      to: invitations
      on: {response_id: response_id}
      how: left
      expect: one
"""

README_MD = """\
# A cxengine example project

Customer-experience metrics as code: the YAML specs in `metric_specs/` are computed
over the datasets declared in `cxengine.yaml`, and the results land in `cx.db` (SQLite).

## Run it

```console
cxengine validate        # check the config and every spec, without reading data
cxengine run             # compute every metric, store the run in cx.db, print a table
cxengine run --json      # the same results as JSON, for scripts and CI
```

`cxengine run` exits with 1 when a target is missed or a metric dropped significantly
against the baseline, so it can gate a CI pipeline. Browse the results with
`datasette cx.db`.

## What is inside

- `cxengine.yaml`: the project (results database, where specs live, datasets and
  their typed fields), commented key by key.
- `metric_specs/`: the standard specs (NPS, CSAT, CES, first response time,
  resolution time, backlog, FCR, retention, churn, ...), one metric per file.
- `data/responses.csv`: {responses} survey responses over 2025 with touchpoint,
  channel, agent, recommend (0-10), satisfaction (1-5), effort (1-7, 7 = very easy)
  and an open comment in English or Russian; support answers carry the `ticket_id`
  of the ticket they rate.
- `data/tickets.jsonl`: {tickets} support tickets with created, first response and
  resolved times, channel, agent, team, first-contact resolution, CSAT, reopened,
  minutes to first response and, for phone calls, the seconds waited on the line.
- `data/customers.csv`: {customers} customers with sign-up and churn dates, plan,
  region and order count.
- `data/invitations.csv`: the survey invitations behind the responses ({invitations}
  sent; pop-ups on the website are ignored most, call-back surveys answered most,
  and unhappy customers answer less often than happy ones: each invitation carries
  its `response_probability`).

The data is generated (seed {seed}) and behaves like the real thing: delivery and
support score lower than the website, scores drift gently over the year, and delivery
dips in November (a peak-season delay) — look for it in the monthly trend. A few rows
are deliberately broken (a recommend score of 11 or -1, a satisfaction of "five", a
ticket answered before it was created): cxengine rejects and reports them instead of
counting them.

## Next steps

- Point a dataset at your own export: change `path:` and the `fields:` mapping.
- Copy a spec in `metric_specs/`, change its `by:`, `period:`, `where:` or `target:`.
- `cxengine baseline save` after a good run; later runs are compared against it.
"""

# The results database (and its -wal/-shm files) and .cxengine/, where plugins keep
# caches such as the NLP plugin's models learnt from the project's scores.
GITIGNORE_LINES = ("cx.db*", ".cxengine/")
