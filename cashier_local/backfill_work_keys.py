"""`make backfill-work-keys`: give items written before the sharded work index
their `work_key` (docs/capacity.md, docs/runbook.md). Against `make run` by
default; in AWS: `make backfill-work-keys ARGS="--table <TransactionsTable name>"`."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make backfill-work-keys", description=__doc__)
    parser.add_argument("--table", help="in AWS: the transactions table's physical name")
    arguments = parser.parse_args(argv)

    import boto3

    from cashier_core.storage.migrations import backfill_work_keys

    table = arguments.table
    if table is None:
        from cashier_local.invoke import _running_stack

        state = _running_stack()
        if state is None:
            print("no running local stack: start `make run`, or pass --table", file=sys.stderr)
            return 2
        from cashier_local.stack import local_environment

        local_environment(state["aws_endpoint"])  # never a real account by accident
        table = state["tables"]["TransactionsTable"]
    result = backfill_work_keys(boto3.client("dynamodb"), table)
    print(json.dumps({"keyed": result.keyed, "retired": result.retired, "raced": result.raced}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
