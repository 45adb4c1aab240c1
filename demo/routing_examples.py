"""The support departments the router demo routes between: descriptions, rules, examples.

This is routing *data*, kept apart from the strategies (`nodes.routers`) so another domain
swaps it without touching code, and shipped in the package because the default graph needs it
offline. The rules feed `RuleRouter`, the labelled examples `EmbeddingRouter`, the
descriptions `ModelRouter`'s prompt and the triage answer.

The examples are *training* data. The labelled set the tests measure accuracy on
(``tests/data/routing_requests.json``) is written separately and shares no sentence with them.
"""

from __future__ import annotations

__all__ = ["SUPPORT_DESCRIPTIONS", "SUPPORT_EXAMPLES", "SUPPORT_RULES"]

SUPPORT_DESCRIPTIONS: dict[str, str] = {
    "shipping": "Deliveries: where an order is, tracking, late, lost or damaged-in-transit "
    "parcels, carriers, delivery addresses.",
    "billing": "Money: refunds, charges, double charges, invoices and receipts, payment "
    "methods, prices and discounts.",
    "technical": "Products and the website or app: devices that do not work, setup, error "
    "messages, logging in, bugs.",
}

SUPPORT_RULES: dict[str, list[str]] = {
    "shipping": [
        r"\bwhere(?:'s| is) (?:my|the) (?:order|package|parcel|delivery)\b",
        r"\btrack(?:ing)?\b",
        r"\b(?:deliver\w*|dispatch\w*|ship(?:ped|ping|ment)?)\b",
        r"\b(?:not|never|still|yet to) (?:\w+ )?(?:arriv\w*|come|came|shown up)\b",
        r"\b(?:courier|carrier|dhl|ups|fedex|postman|parcel|package)\b",
        r"\b(?:late|delay\w*|lost|stuck|eta)\b",
        r"\b(?:address|customs)\b",
    ],
    "billing": [
        r"\brefund\w*",
        r"\b(?:charg(?:e|ed|es)|bill|billed|billing|overcharg\w*)\b",
        r"\b(?:invoice|receipt|vat)\w*",
        r"\b(?:payment|paid|pay|card|paypal)\b",
        r"\bmoney back\b|\breimburs\w*",
        r"\b(?:price|discount|coupon|promo\w*)\b",
    ],
    "technical": [
        r"\b(?:error|bug|crash\w*|glitch\w*|freez\w*)\b",
        r"\b(?:app|website|site|page|browser)\b",
        r"\b(?:log ?in|password|sign ?in|locked out|2fa|verification code)\b",
        r"\b(?:get into|access|open)\b[^.?!]*\baccount\b|\baccount\b[^.?!]*\b(?:locked|blocked)\b",
        r"\b(?:won'?t|doesn'?t|does not|can'?t|cannot|not|stopped) "
        r"(?:turn on|work\w*|load\w*|connect\w*|pair\w*|start\w*|charging|heat\w*)\b",
        r"\b(?:firmware|update|install\w*|setup|set up|reset|bluetooth|wi-?fi)\b",
    ],
}
"""Regexes per department (matched case-insensitively); each match is one vote.

Rules are patterns, not sentences: every rule must match at least one labelled request or
example of its department (a test checks it), so none is dead weight."""

SUPPORT_EXAMPLES: dict[str, list[str]] = {
    "shipping": [
        "Where is my order? It still has not arrived.",
        "The tracking page has not updated in four days.",
        "My parcel says delivered but it is not at my door.",
        "Can I change the delivery address for my order?",
        "Which carrier is bringing my package and when?",
        "The delivery is late, the estimated date has passed.",
        "My package is stuck in customs.",
        "Has my order been dispatched yet?",
        "The courier left the box with a neighbour I do not know.",
        "Do you ship to Norway and how long does it take?",
        "My delivery never showed up, the courier says it was left outside.",
        "When will my package be delivered?",
        "The shipment is on hold, what is going on?",
        "How long does shipping take to my country?",
        "The parcel was damaged in transit.",
        "Can I choose express shipping?",
        "The delivery driver came while I was out, can they come back?",
    ],
    "billing": [
        "I want a refund for my order.",
        "The lamp came damaged, please refund me.",
        "I was charged twice for the same purchase.",
        "Please send me an invoice with my company VAT number.",
        "How do I get my money back for a returned item?",
        "My card was declined at checkout but the money left my account.",
        "The price I paid is higher than the advertised price.",
        "My discount code was not applied to the total.",
        "Can I pay with PayPal instead of a credit card?",
        "There is a charge on my statement I do not recognise.",
        "When will the refund show up on my bank account?",
        "You charged my card but I cancelled the order.",
        "Can I get the receipt as a PDF?",
        "Is the service fee refundable?",
        "Which payment methods do you accept?",
        "Do you offer price protection?",
        "I was billed the wrong amount.",
        "The coupon code says it is invalid.",
        "Do I get reimbursed for a cancelled order?",
    ],
    "technical": [
        "The kettle does not turn on when I press the switch.",
        "The app crashes every time I open my orders.",
        "I cannot log in, it says my password is wrong.",
        "The website shows an error when I click checkout.",
        "My wireless headphones will not pair with my phone.",
        "How do I set up the standing desk controller?",
        "The firmware update failed halfway through.",
        "The headphones stopped charging after a week.",
        "I never receive the verification code to sign in.",
        "The desk motor makes a grinding noise and stops.",
        "The app logs me out every few minutes.",
        "Pictures on the product pages do not load.",
        "The password reset link has expired.",
        "The two-factor authentication codes are rejected.",
        "The kettle leaks water from the bottom.",
        "The headphones make a crackling noise.",
        "The headphones do not show up in the bluetooth list.",
        "Which browsers does the website support?",
        "I can't get into my account anymore.",
    ],
}
"""Labelled example requests per department, embedded by `EmbeddingRouter`."""
