"""A schemathesis check for the cross-workspace pass of fuzz.py."""
import os

import schemathesis

FOREIGN = {v for v in os.environ.get("RAGD_FOREIGN_IDS", "").split(",") if v}


@schemathesis.check
def foreign_id_answered(ctx, response, case):
    """Another workspace's id in the path must never be answered with a success."""
    used = [str(v) for v in (case.path_parameters or {}).values() if str(v) in FOREIGN]
    if used and 200 <= response.status_code < 300:
        raise AssertionError(
            f"{case.method} {case.formatted_path} answered {response.status_code} for another workspace's id {used[0]}"
        )
