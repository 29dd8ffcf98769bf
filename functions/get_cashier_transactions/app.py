"""get_cashier_transactions. The endpoint itself lands with the Customer API issue."""

from __future__ import annotations

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {
        "statusCode": 501,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": {"code": "not_implemented", "message": "Not built yet."}}),
    }
