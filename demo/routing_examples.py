"""The support departments the router demo routes between: descriptions, rules, examples.

Five departments from the seed's support coordinator (billing, technical, account, shipping,
fraud) and a catch-all, ``general``, for requests that are clearly none of them (opening
hours, gift cards, small talk). A request that is merely *unclear* is not ``general``: it goes
to triage, which asks a clarifying question (see `graphs.router`).

This is routing *data*, kept apart from the strategies (`nodes.routers`) so another domain
swaps it without touching code, and shipped in the package because the default graph needs it
offline. The rules feed `RuleRouter`, the labelled examples `EmbeddingRouter`, the
descriptions `ModelRouter`'s prompt and the triage answer.

The examples are *training* data. The labelled set the tests measure accuracy on
(``tests/data/routing_requests.json``) is written separately and shares no sentence with them.
"""

from __future__ import annotations

__all__ = ["DEPARTMENTS", "SUPPORT_DESCRIPTIONS", "SUPPORT_EXAMPLES", "SUPPORT_RULES"]

DEPARTMENTS = ("billing", "technical", "account", "shipping", "fraud", "general")
"""The router's specialists, in the order the graph adds them and triage lists them."""

SUPPORT_DESCRIPTIONS: dict[str, str] = {
    "billing": "Money: refunds, charges you recognise, double charges, invoices and receipts, "
    "payment methods, prices and discounts.",
    "technical": "Products and the website or app not working: devices that fail, setup, "
    "error messages, crashes, bugs.",
    "account": "Your customer account: logging in, passwords, two-factor codes, a locked "
    "account, profile and email changes, closing the account.",
    "shipping": "Deliveries: where an order is, tracking, late, lost or damaged-in-transit "
    "parcels, carriers, delivery addresses, customs.",
    "fraud": "Suspected fraud: charges you did not make, someone else in your account, "
    "phishing messages, a stolen card.",
    "general": "Anything else about the shop: opening hours, gift cards, what we sell, "
    "contact details, small talk.",
}

SUPPORT_RULES: dict[str, list[str]] = {
    "fraud": [
        r"\b(?:fraud\w*|scam\w*|phishing|unauthori[sz]ed|suspicious)\b",
        r"\b(?:don'?t|do not|didn'?t|did not|never) (?:recogni[sz]e|make|made|place|placed|"
        r"order|ordered|buy|bought|authori[sz]e|use|used)\b",
        r"\b(?:hack\w*|stolen|steal\w*|compromised|takeover|taken over|drained|flagged)\b",
        r"\b(?:someone|somebody|stranger|another country)\b",
        r"\b(?:wasn'?t|was not|not) (?:me|mine)\b|\bwithout my (?:permission|consent|knowledge)\b"
        r"|\bin my name\b",
        r"\b(?:pretend\w*|impersonat\w*|claim\w* to be)\b"
        r"|\blooks? like (?:it is |it's )?(?:from )?(?:yours|you|your)\b",
        r"\b(?:ask\w*|wants?) (?:me )?(?:for|to (?:confirm|enter|give|send)) (?:my |your )?"
        r"(?:\w+ )?(?:code|password|card|details|pin|bank)",
        r"\b(?:charges?|payments?|purchases?|orders?)\b[^.?!]*\bI (?:did not|didn'?t|never)\b",
        r"\b(?:text|sms|e-?mail|message|caller|call)\b[^.?!]*\b(?:link|prize)\b",
    ],
    "billing": [
        r"\brefund\w*",
        r"\b(?:charg(?:e|ed|es)|bill|billed|billing|overcharg\w*)\b",
        r"\b(?:invoice|receipt|vat)\w*",
        r"\b(?:payment|paid|pay|paypal)\b",
        r"\bmoney back\b|\breimburs\w*",
        r"\b(?:price|discount|coupon|promo\w*|fee)\b",
    ],
    "technical": [
        r"\b(?:error|bug|crash\w*|glitch\w*|freez\w*)\b",
        r"\b(?:app|website|site|page|browser)\b",
        r"\b(?:won'?t|doesn'?t|does not|can'?t|cannot|not|stopped|no longer) "
        r"(?:turn on|work\w*|load\w*|connect\w*|pair\w*|start\w*|charging|heat\w*|boil\w*)\b",
        r"\b(?:firmware|update|install\w*|setup|set up|bluetooth|wi-?fi|motor|battery)\b",
        r"\b(?:no sound|noise|hums?|blink\w*|leak\w*|stutter\w*|crackl\w*|presets?)\b"
        r"|\b(?:switch\w* (?:itself )?off|factory settings|disconnect\w*)\b",
    ],
    "account": [
        r"\b(?:log ?in|log(?:ged|s)? (?:me )?(?:in|out)|sign ?in|signed in|username)\b",
        r"\bpassword\w*",
        r"\b(?:2fa|two-factor|verification code|authenticat\w*|one-time code)\b",
        r"\b(?:locked|lock) (?:out|me out)\b|\baccount\b[^.?!]*\b(?:locked|blocked|disabled)\b",
        r"\b(?:close|delete|deactivate|cancel|remove) (?:my |the )?(?:customer )?account\b",
        r"\b(?:profile|e-?mail address|phone number)\b",
        r"\b(?:get into|access|open|recover)\b[^.?!]*\baccount\b",
    ],
    "shipping": [
        r"\bwhere(?:'s| is) (?:my|the) (?:order|package|parcel|delivery)\b"
        r"|\bwhen (?:will|does|do) [^.?!]*\b(?:arrive|come|get here)\b",
        r"\btrack(?:ing)?\b",
        r"\b(?:deliver\w*|dispatch\w*|ship(?:ped|ping|ment)?)\b",
        r"\b(?:not|never|still|yet to) (?:\w+ )?(?:arriv\w*|come|came|shown up)\b"
        r"|\b(?:supposed to|should have) (?:come|arrive|arrived|be here)\b",
        r"\b(?:courier|carrier|dhl|ups|fedex|postman|parcel|package)\b",
        r"\b(?:late|delay\w*|lost|stuck|eta)\b",
        r"\b(?:address|customs|import dut\w*|returned to sender)\b",
    ],
    "general": [
        r"\b(?:opening|business|office) hours\b|\bwhen are you open\b|\bare you open\b",
        r"\bgift ?cards?\b|\bvouchers?\b",
        r"\bdo you (?:sell|stock|carry|make|have)\b",
        r"\b(?:showroom|physical store|shop in person|newsletter|careers?|jobs?)\b",
        r"\bare you (?:a )?(?:bot|robot|human|real|person)\b|\bhow are you\b|\bjoke\b",
        r"\b(?:phone number for|call you|headquarters|sustainab\w*)\b",
    ],
}
"""Regexes per department (matched case-insensitively); each match is one vote.

Fraud is listed first, so a tie between fraud and another department names fraud as the
best guess (a tie is below the threshold anyway: the request goes to triage). Rules are
patterns, not sentences: every rule must match at least one labelled request or example of its
department (a test checks it), so none is dead weight."""

SUPPORT_EXAMPLES: dict[str, list[str]] = {
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
        "The website shows an error when I click checkout.",
        "My wireless headphones will not pair with my phone.",
        "How do I set up the standing desk controller?",
        "The firmware update failed halfway through.",
        "The headphones stopped charging after a week.",
        "The desk motor makes a grinding noise and stops.",
        "Pictures on the product pages do not load.",
        "The kettle leaks water from the bottom.",
        "The headphones make a crackling noise.",
        "The headphones do not show up in the bluetooth list.",
        "Which browsers does the website support?",
        "The search on your site returns nothing for any product.",
        "The battery of the earbuds drains in an hour.",
        "The desk display shows E04 and will not move.",
    ],
    "account": [
        "I cannot log in, it says my password is wrong.",
        "I never receive the verification code to sign in.",
        "The app logs me out every few minutes.",
        "The password reset link has expired.",
        "The two-factor authentication codes are rejected.",
        "I can't get into my account anymore.",
        "How do I change the email address on my account?",
        "Please close my account and delete my data.",
        "I want to update my phone number in my profile.",
        "My account is blocked after too many attempts.",
        "How do I turn on two-factor authentication?",
        "I forgot my username.",
        "Can I merge my two customer accounts?",
        "My name is spelled wrong in my profile.",
        "How do I change my password?",
        "I lost the phone with my authenticator app.",
    ],
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
        "Customs wants me to pay import duties before they release the parcel.",
    ],
    "fraud": [
        "There is a charge on my statement I do not recognise.",
        "Someone used my card to order things on your shop.",
        "I got an email pretending to be from you asking for my card number.",
        "My account was hacked and the password changed.",
        "An order was placed from my account but I did not place it.",
        "My credit card was stolen, please block any orders with it.",
        "I think someone else logged into my account.",
        "There are three payments I never made.",
        "I received a suspicious text message with a link to your site.",
        "Is this email from your company real or a phishing attempt?",
        "My delivery address was changed without my permission.",
        "A person called claiming to be from your support and asked for my code.",
        "I want to report fraud on my account.",
        "Unauthorised purchases appeared on my bank statement.",
        "Someone is using my gift card balance.",
        "It was not me who ordered the laptop.",
    ],
    "general": [
        "What are your opening hours?",
        "Do you sell gift cards?",
        "Do you have a physical store I can visit?",
        "How do I subscribe to the newsletter?",
        "Are you a bot or a real person?",
        "How are you today?",
        "Are you hiring? I would like a job.",
        "Where is your headquarters?",
        "Do you make furniture as well?",
        "Tell me a joke.",
        "Is there a phone number for your customer service?",
        "Are your products sustainably made?",
        "Can I buy a voucher for a friend?",
        "Do you stock spare parts for older models?",
    ],
}
"""Labelled example requests per department, embedded by `EmbeddingRouter`."""
