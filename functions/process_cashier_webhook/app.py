"""POST /cashier/webhook/{provider} - public; trusted only through the provider's signature."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from cashier_core.api import create_resolver, decode_base64_body, handle, responses
from cashier_core.cashier import Cashier
from cashier_core.clock import utc_now
from cashier_core.credit_queue import CreditQueue
from cashier_core.errors import CreditEnqueueFailed
from cashier_core.logs import api_entry, logger
from cashier_core.schemas import WebhookReply
from cashier_core.webhooks import process_webhook

app = create_resolver()
cashier = Cashier.from_environment()
queue = CreditQueue.from_environment()
MAX_WEBHOOK_BYTES = 256 * 1024


@app.post(
    "/cashier/webhook/<provider>",
    summary="Provider webhook (signed by the provider; no session)",
    responses=responses(200, WebhookReply, 400, 404, 503),
)
def process_cashier_webhook(
    provider: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,31}$")],
) -> Response[str]:
    body = decode_base64_body(app.current_event.raw_event)
    try:
        answer = process_webhook(
            cashier, provider, body, app.current_event.headers, queue=queue, now=utc_now()
        )
    except (ClientError, BotoCoreError) as error:
        if not _is_queue_error(error):
            raise
        logger.exception("credit enqueue failed")
        raise CreditEnqueueFailed() from error
    return Response(
        status_code=answer.status_code, content_type=answer.content_type, body=answer.body
    )


def _is_queue_error(error: Exception) -> bool:
    operation = getattr(error, "operation_name", "") or ""
    return operation.startswith("SendMessage") or isinstance(error, BotoCoreError)


@api_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Providers sign raw bytes; the signature, not the media type, is checked.
    return handle(app, event, context, max_body=MAX_WEBHOOK_BYTES, json_body=False)
