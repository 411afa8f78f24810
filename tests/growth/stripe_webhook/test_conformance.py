"""Our Stripe builders and our event mapping, checked against Stripe's own sample objects.

``../shared/data/stripe/fixtures3.json`` (next to the project) holds Stripe's published sample of
every API resource. For each object we build, every field the rules read must exist in Stripe's
object with the same type and nesting; the rules must read no field that is not listed here; and
both our objects and Stripe's (patched where a scenario needs it) must parse.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from growth.core.db import PROJECT_ROOT
from growth.order.rules import OrderEventType
from growth.settings import env_flag
from growth.stripe_webhook import rules, service
from tests.growth.stripe_webhook import builders as b

SAMPLES = Path(PROJECT_ROOT).parent / "shared/data/stripe/fixtures3.json"
NULL = type(None)

READS: dict[str, dict[str, tuple[type, ...]]] = {
    "event": {
        "id": (str,),
        "type": (str,),
        "created": (int,),
        "data": (dict,),
        "data.object": (dict,),
    },
    "checkout.session": {
        "id": (str,),
        "mode": (str,),
        "amount_total": (int, NULL),
        "currency": (str, NULL),
        "created": (int,),
        "customer": (str, NULL),
        "customer_details": (dict, NULL),
        "customer_details.email": (str, NULL),
        "customer_details.name": (str, NULL),
        "client_reference_id": (str, NULL),
        "metadata": (dict, NULL),
        "payment_intent": (str, NULL),
        "payment_status": (str,),
        "subscription": (str, NULL),
    },
    "invoice": {
        "id": (str,),
        "amount_paid": (int,),
        "currency": (str,),
        "created": (int,),
        "customer": (str, NULL),
        "customer_email": (str, NULL),
        "customer_name": (str, NULL),
        "billing_reason": (str, NULL),
        "metadata": (dict, NULL),
        "status_transitions": (dict,),
        "status_transitions.paid_at": (int, NULL),
        "parent": (dict, NULL),
        "parent.subscription_details": (dict, NULL),
        "parent.subscription_details.subscription": (str, NULL),
        "parent.subscription_details.metadata": (dict, NULL),
    },
    "charge": {
        "id": (str,),
        "payment_intent": (str, NULL),
        "amount_refunded": (int,),
        "payment_method_details": (dict, NULL),
        "payment_method_details.card": (dict, NULL),
        "payment_method_details.card.fingerprint": (str, NULL),
    },
    "dispute": {
        "payment_intent": (str, NULL),
        "charge": (str,),
        "status": (str,),
        "amount": (int,),
    },
}
"""Every field the rules read, per Stripe object: its JSON type(s) and nesting."""
LEGACY: dict[str, set[str]] = {"invoice": {"subscription", "payment_intent", "charge"}}
"""Read only as fallbacks for API versions before 2025-03-31; our builders make current objects."""
FREE_FORM = ("metadata",)
"""Containers whose keys are the shop's own (hint keys), not Stripe's."""


def _built() -> dict[str, dict[str, Any]]:
    return {
        "checkout.session": b.checkout_session(
            customer="cus_1", client_reference_id="ANNA2026", metadata={"coupon_code": "SPRING"}
        ),
        "invoice": b.invoice(subscription="sub_1", subscription_metadata={"referral_code": "ANNA2026"}),
        "charge": b.charge(payment_intent="pi_1", amount_refunded=100),
        "dispute": b.dispute(payment_intent="pi_1", status="lost"),
    }


@pytest.fixture(scope="module")
def samples() -> dict[str, Any]:
    """Stripe's sample objects; absent: skip, or fail when the CI requires the shared data."""
    if not SAMPLES.exists():
        if env_flag("REQUIRE_SHARED_DATA"):
            pytest.fail(f"{SAMPLES} is missing and GROWTH_REQUIRE_SHARED_DATA=1")
        pytest.skip(f"Stripe's sample objects are not available at {SAMPLES}")
    return dict(json.loads(SAMPLES.read_text())["resources"])


_MISSING: Any = object()


def resolve(obj: Any, path: str) -> Any:
    """The value at ``a.b.c``; None when a container on the way is null; ``_MISSING`` when absent."""
    for key in path.split("."):
        if obj is None:
            return None
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def json_type(value: Any) -> type:
    return int if isinstance(value, int) and not isinstance(value, bool) else type(value)


def mismatches(kind: str, obj: dict[str, Any]) -> list[str]:
    problems = []
    for path, types in READS[kind].items():
        value = resolve(obj, path)
        if value is _MISSING:
            problems.append(f"{kind}.{path} is missing")
        elif json_type(value) not in types:
            problems.append(f"{kind}.{path} is {json_type(value).__name__}, expected {types}")
    return problems


@pytest.mark.parametrize("kind", [*READS])
def test_every_field_we_read_is_in_stripes_object(samples: dict[str, Any], kind: str) -> None:
    assert mismatches(kind, samples[kind]) == []


@pytest.mark.parametrize("kind", [*READS])
def test_our_objects_have_stripes_types_and_nesting(samples: dict[str, Any], kind: str) -> None:
    ours = b.event("x", {"id": "x"}) if kind == "event" else _built()[kind]

    assert mismatches(kind, ours) == []
    for path in READS[kind]:
        # Where Stripe's sample has a value, ours has the same type (not only an allowed one).
        theirs, mine = resolve(samples[kind], path), resolve(ours, path)
        if theirs is not None and mine is not None:
            assert json_type(mine) is json_type(theirs), (kind, path)


def test_legacy_fields_are_not_in_current_objects(samples: dict[str, Any]) -> None:
    """The fallbacks never shadow current data: Stripe's current invoice has no payment on it,
    and carries its subscription (if at all) as null beside ``parent.subscription_details``."""
    invoice = samples["invoice"]
    assert "payment_intent" not in invoice and "charge" not in invoice
    assert invoice.get("subscription") is None
    assert not LEGACY["invoice"] & set(_built()["invoice"])


class Reading(dict[str, Any]):
    """A dict that notes the path of every key read through it and through the dicts inside it."""

    def __init__(self, data: dict[str, Any], path: str, seen: set[str]) -> None:
        super().__init__(data)
        self.path, self.seen = path, seen

    def _note(self, key: str, value: Any) -> Any:
        path = f"{self.path}.{key}" if self.path else key
        self.seen.add(path)
        return Reading(value, path, self.seen) if isinstance(value, dict) else value

    def get(self, key: str, default: Any = None) -> Any:
        return self._note(key, super().get(key, default))

    def __getitem__(self, key: str) -> Any:
        return self._note(key, super().__getitem__(key))


def fields_read(event: dict[str, Any]) -> dict[str, set[str]]:
    """Run the rules over ``event``; the Stripe fields they read, by object kind."""
    seen: set[str] = set()
    rules.action_for(rules.read_envelope(Reading(event, "", seen)), source="stripe")
    kind = event["data"]["object"]["object"]
    read: dict[str, set[str]] = {"event": set(), kind: set()}
    for path in seen:
        if path.startswith("data.object."):
            inner = path.removeprefix("data.object.")
            parts = inner.split(".")
            free = next((i for i, part in enumerate(parts) if part in FREE_FORM), None)
            read[kind].add(".".join(parts[: free + 1]) if free is not None else inner)
        else:
            read["event"].add(path)
    return read


def patched_samples(samples: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Stripe's objects with the values our scenarios depend on (they do not tell one story)."""
    session = copy.deepcopy(samples["checkout.session"])
    session.update(amount_total=1000, currency="usd", payment_status="paid")
    invoice = copy.deepcopy(samples["invoice"])
    invoice.update(amount_paid=1000, status="paid", billing_reason="subscription_cycle")
    invoice["status_transitions"]["paid_at"] = 1234567899
    charge = copy.deepcopy(samples["charge"])
    charge.update(amount_refunded=50)
    dispute = copy.deepcopy(samples["dispute"])
    closed = {**copy.deepcopy(samples["dispute"]), "status": "lost"}
    return {
        "checkout.session.completed": session,
        "invoice.paid": invoice,
        "charge.refunded": charge,
        "charge.succeeded": copy.deepcopy(samples["charge"]),
        "charge.dispute.created": dispute,
        "charge.dispute.closed": closed,
    }


def built_objects() -> dict[str, dict[str, Any]]:
    built = _built()
    return {
        "checkout.session.completed": built["checkout.session"],
        "invoice.paid": built["invoice"],
        "charge.refunded": built["charge"],
        "charge.succeeded": built["charge"],
        "charge.dispute.created": b.dispute(payment_intent="pi_1"),
        "charge.dispute.closed": built["dispute"],
    }


def stripe_event(samples: dict[str, Any], type: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Stripe's sample event envelope around ``obj``."""
    event = copy.deepcopy(samples["event"])
    event.update(type=type, data={"object": obj})
    return event


SCENARIOS = [
    "checkout.session.completed",
    "invoice.paid",
    "charge.refunded",
    "charge.succeeded",
    "charge.dispute.created",
    "charge.dispute.closed",
]


@pytest.mark.parametrize("source", ["ours", "stripe"])
@pytest.mark.parametrize("type", SCENARIOS)
def test_rules_read_only_listed_fields(samples: dict[str, Any], source: str, type: str) -> None:
    obj = built_objects()[type] if source == "ours" else patched_samples(samples)[type]
    event = b.event(type, obj) if source == "ours" else stripe_event(samples, type, obj)

    for kind, paths in fields_read(event).items():
        unlisted = paths - set(READS[kind]) - LEGACY.get(kind, set())
        assert not unlisted, f"the rules read {kind} fields not checked against Stripe: {sorted(unlisted)}"


EXPECTED: dict[str, Callable[[rules.Action], bool]] = {
    "checkout.session.completed": lambda a: (
        isinstance(a, rules.NewOrder) and a.paid is not None and a.intake.currency == "USD"
    ),
    "invoice.paid": lambda a: (
        isinstance(a, rules.NewOrder) and a.paid is not None and a.intake.subscription_id is not None
    ),
    "charge.refunded": lambda a: isinstance(a, rules.PaymentEvent) and a.refunded_total is not None,
    "charge.succeeded": lambda a: isinstance(a, rules.CardFingerprint) and len(a.fingerprint) == 16,
    "charge.dispute.created": lambda a: (
        isinstance(a, rules.PaymentEvent) and a.event.type is OrderEventType.disputed
    ),
    "charge.dispute.closed": lambda a: (
        isinstance(a, rules.PaymentEvent) and a.event.type is OrderEventType.dispute_lost
    ),
}


@pytest.mark.parametrize("source", ["ours", "stripe"])
@pytest.mark.parametrize("type", SCENARIOS)
def test_signed_deliveries_parse(samples: dict[str, Any], source: str, type: str) -> None:
    obj = built_objects()[type] if source == "ours" else patched_samples(samples)[type]
    event = b.event(type, obj) if source == "ours" else stripe_event(samples, type, obj)
    body, headers = b.signed(event)

    envelope = service.verified_envelope(body, headers["stripe-signature"], b.WEBHOOK_SECRET)
    action = rules.action_for(envelope, source="stripe")

    assert envelope.id == event["id"] and envelope.type == type
    assert EXPECTED[type](action), action


def test_stripes_objects_map_to_these_orders(samples: dict[str, Any]) -> None:
    real = patched_samples(samples)

    def mapped(type: str) -> Any:
        return rules.action_for(rules.read_envelope(stripe_event(samples, type, real[type])), source="stripe")

    checkout, renewal = mapped("checkout.session.completed"), mapped("invoice.paid")
    refund, disputed = mapped("charge.refunded"), mapped("charge.dispute.created")

    session, invoice = real["checkout.session.completed"], real["invoice.paid"]
    assert (
        checkout.intake.external_id,
        checkout.intake.customer_external_id,
        checkout.intake.payment_reference,
    ) == (session["id"], "email:example@example.com", session["payment_intent"])
    assert (renewal.intake.customer_external_id, renewal.intake.subscription_id) == (
        invoice["customer"],
        invoice["parent"]["subscription_details"]["subscription"],
    )
    assert refund.references == (real["charge.refunded"]["id"],)
    assert disputed.references == (real["charge.dispute.created"]["charge"],)
