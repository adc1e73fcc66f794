"""The example project that `cxengine init` writes, and the generators behind its data.

``init_project`` writes a commented ``cxengine.yaml``, copies of the standard specs and
generated datasets (survey responses, support tickets, customers). The generators are
public so benchmarks can stream large files: ``write_responses_csv(path, n=1_000_000)``.
"""

from cxengine.scaffold.customers import generate_customers, write_customers_csv
from cxengine.scaffold.invitations import iter_invitations, write_invitations_csv
from cxengine.scaffold.project import InitResult, example_specs, init_project, standard_specs
from cxengine.scaffold.responses import (
    generate_responses,
    iter_response_rows,
    write_responses_csv,
)
from cxengine.scaffold.tickets import generate_tickets, write_tickets_jsonl

__all__ = [
    "InitResult",
    "example_specs",
    "generate_customers",
    "generate_responses",
    "generate_tickets",
    "init_project",
    "iter_invitations",
    "iter_response_rows",
    "standard_specs",
    "write_customers_csv",
    "write_invitations_csv",
    "write_responses_csv",
    "write_tickets_jsonl",
]
