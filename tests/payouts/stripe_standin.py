"""A stand-in for Stripe's transfers API on 127.0.0.1: it checks what the real ``stripe`` library
sends and, like Stripe, answers a repeated Idempotency-Key with the first response."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

REQUIRED_FIELDS = frozenset(
    {"amount", "currency", "destination", "transfer_group", "metadata[payout_id]", "metadata[statement_id]"}
)
API_KEY = "sk_test_standin"


@dataclass
class StripeStandIn:
    base: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every request received: method, path, idempotency_key, form."""
    responses: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    """Idempotency-Key -> the first answer given for it."""
    declined: dict[str, str] = field(default_factory=dict)
    """Destination -> the error message Stripe answers for it."""
    first_request: threading.Event = field(default_factory=threading.Event)
    delay: float = 0.0
    """Seconds between doing a transfer and answering: a client killed then never hears back."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def transfers(self) -> dict[str, dict[str, Any]]:
        """The transfers created, by idempotency key."""
        return {k: body for k, (status, body) in self.responses.items() if status == 200}

    def answer(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, dict[str, Any]]:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        key = headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append({"method": method, "path": path, "idempotency_key": key, "form": form})
            self.first_request.set()
            if headers.get("Authorization") != f"Bearer {API_KEY}":
                return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
            if method != "POST" or path != "/v1/transfers":
                return 404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}
            if not key:
                return 400, {"error": {"type": "invalid_request_error", "message": "Idempotency-Key missing"}}
            if key in self.responses:
                return self.responses[key]
            missing = {
                "amount",
                "currency",
                "destination",
                "transfer_group",
                "metadata[payout_id]",
                "metadata[statement_id]",
            } - set(form)
            if missing:
                answer = (
                    400,
                    {"error": {"type": "invalid_request_error", "message": f"missing {sorted(missing)}"}},
                )
            elif form["destination"] in self.declined:
                answer = (
                    400,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": self.declined[form["destination"]],
                        }
                    },
                )
            else:
                answer = (
                    200,
                    {
                        "id": f"tr_{len(self.responses) + 1:06d}",
                        "object": "transfer",
                        "amount": int(form["amount"]),
                        "currency": form["currency"],
                        "destination": form["destination"],
                        "transfer_group": form["transfer_group"],
                        "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
                        "reversed": False,
                        "livemode": False,
                    },
                )
            self.responses[key] = answer
            return answer


def serve(stand_in: StripeStandIn) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, body = stand_in.answer(self.command, self.path, self.headers, raw)
            if stand_in.delay:
                time.sleep(stand_in.delay)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
