"""A large tool catalog: 125 tools of a mid-sized company, for tool selection (issue 21).

The shop's own desk has six tools; a company's assistant may have a hundred. This catalog
spans orders, billing, shipping, returns, inventory, HR, payroll, IT, calendar, messaging,
CRM, marketing, analytics, DevOps, security, finance, legal, facilities and travel: each
tool a proper `tools.registry.agent_tool` with a description, a pydantic argument schema
(every argument described) and its side effects declared, so the approval gate treats it
like any shop tool. The tools do nothing real: each returns a canned acknowledgement naming
itself and its arguments (the catalog exists to be *selected from*, see
`nodes.tool_selection` and ``tests/data/tool_selection.json``).

Example:
    >>> tools = catalog_tools()
    >>> len(tools) >= 100, len({t.name for t in tools}) == len(tools)
    (True, True)
    >>> refund = next(t for t in tools if t.name == "refund_payment")
    >>> refund.metadata["side_effects"], sorted(refund.args)
    (True, ['amount', 'invoice_id', 'reason'])
"""

# ruff: noqa: E501 - CATALOG is a table, one tool per line (wrapped, it reads as 1000 lines)

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, create_model

from tools.registry import agent_tool

__all__ = ["CATALOG", "CatalogEntry", "catalog_domains", "catalog_tools"]

Arg = tuple[str, type, str]


@dataclass(frozen=True)
class CatalogEntry:
    """One tool of the catalog: where it belongs, what it does, its arguments and effects."""

    domain: str
    name: str
    description: str
    args: tuple[Arg, ...]
    side_effects: bool = False


def _e(domain: str, name: str, description: str, *args: Arg, writes: bool = False) -> CatalogEntry:
    return CatalogEntry(domain, name, description, tuple(args), writes)


ORDER_ID: Arg = ("order_id", str, "The order number, e.g. A-1001.")
CUSTOMER_ID: Arg = ("customer_id", str, "The customer's account id.")
EMPLOYEE_ID: Arg = ("employee_id", str, "The employee's id, e.g. E-2041.")
INVOICE_ID: Arg = ("invoice_id", str, "The invoice number, e.g. INV-5521.")
SKU: Arg = ("sku", str, "The product's stock-keeping unit, e.g. KETTLE-2L.")
SERVICE: Arg = ("service", str, "The service's name, e.g. checkout-api.")
REASON: Arg = ("reason", str, "Why, in one sentence (kept in the audit trail).")
AMOUNT: Arg = ("amount", float, "Amount in the account's currency.")
DATE: Arg = ("date", str, "The day, ISO format (2026-12-01).")
PERIOD: Arg = ("period", str, "The period, e.g. 2026-11 or 2026-Q4.")

CATALOG: tuple[CatalogEntry, ...] = (
    _e("orders", "get_order_status", "Current status of a customer order: placed, packed, shipped or delivered, with its items and totals.", ORDER_ID),
    _e("orders", "list_customer_orders", "List the recent orders a customer placed, newest first.", CUSTOMER_ID),
    _e("orders", "cancel_order", "Cancel an order that has not shipped yet; its payment is voided.", ORDER_ID, REASON, writes=True),
    _e("orders", "change_order_items", "Change the quantity of an item on an order before it is packed.", ORDER_ID, SKU, ("quantity", int, "The new quantity (0 removes the item)."), writes=True),
    _e("orders", "apply_discount_code", "Apply a promotional discount code to an open order.", ORDER_ID, ("code", str, "The promo code."), writes=True),
    _e("orders", "place_order", "Place a new order for a customer with the given products.", CUSTOMER_ID, ("skus", str, "Comma-separated SKUs."), writes=True),
    _e("orders", "add_order_note", "Attach an internal note to an order for other agents to read.", ORDER_ID, ("note", str, "The note's text."), writes=True),
    _e("billing", "get_invoice", "Fetch an invoice with its line items, taxes and payment status.", INVOICE_ID),
    _e("billing", "resend_invoice", "Email a copy of an invoice to the customer again.", INVOICE_ID, ("email", str, "Where to send it."), writes=True),
    _e("billing", "refund_payment", "Refund all or part of a paid invoice to the card or account it was paid with. Moves money.", INVOICE_ID, AMOUNT, REASON, writes=True),
    _e("billing", "update_payment_method", "Replace the credit card or bank account on file for a customer's subscription.", CUSTOMER_ID, ("token", str, "The payment processor's token for the new card."), writes=True),
    _e("billing", "list_failed_payments", "List card charges that were declined or failed in a period.", PERIOD),
    _e("billing", "retry_payment", "Charge a failed invoice again on the card on file. Moves money.", INVOICE_ID, writes=True),
    _e("billing", "issue_credit_note", "Issue store credit against an invoice instead of a refund.", INVOICE_ID, AMOUNT, REASON, writes=True),
    _e("billing", "get_subscription", "Show a customer's subscription plan, renewal date and seats.", CUSTOMER_ID),
    _e("billing", "change_subscription_plan", "Upgrade or downgrade a customer's subscription plan from the next billing cycle.", CUSTOMER_ID, ("plan", str, "The plan: starter, team or enterprise."), writes=True),
    _e("billing", "calculate_sales_tax", "Calculate VAT or sales tax for an amount shipped to a country or US state.", AMOUNT, ("region", str, "Country code or US state.")),
    _e("shipping", "track_shipment", "Where a parcel is now and its delivery estimate, by carrier tracking number.", ("tracking_number", str, "The carrier's tracking number.")),
    _e("shipping", "create_shipping_label", "Buy and print a carrier shipping label for a packed order.", ORDER_ID, ("carrier", str, "DHL, UPS or FedEx.")),
    _e("shipping", "change_delivery_address", "Redirect an order that has not been delivered to a new address.", ORDER_ID, ("address", str, "The new street address."), writes=True),
    _e("shipping", "get_shipping_rates", "Quote shipping prices and delivery times from each carrier for a parcel.", ("weight_kg", float, "Parcel weight in kilograms."), ("destination", str, "Destination postcode and country.")),
    _e("shipping", "schedule_pickup", "Book a carrier to collect parcels from the warehouse dock.", DATE, ("carrier", str, "DHL, UPS or FedEx."), writes=True),
    _e("shipping", "report_lost_parcel", "Open a claim with the carrier for a parcel that never arrived or arrived damaged.", ORDER_ID, REASON, writes=True),
    _e("returns", "create_return_authorization", "Open a return (RMA) for items a customer wants to send back, with a prepaid label.", ORDER_ID, SKU, REASON, writes=True),
    _e("returns", "get_return_status", "Status of a return: label sent, in transit, received, inspected, refunded.", ("rma_id", str, "The return authorization number.")),
    _e("returns", "check_return_eligibility", "Whether an order's items can still be returned under the return policy (30 days, unused).", ORDER_ID),
    _e("returns", "approve_exchange", "Swap a returned item for another size or colour instead of refunding it.", ("rma_id", str, "The return authorization number."), SKU, writes=True),
    _e("inventory", "check_stock_level", "How many units of a product are in stock in each warehouse.", SKU),
    _e("inventory", "reserve_stock", "Hold units of a product for an order so they are not sold twice.", SKU, ("quantity", int, "Units to hold."), writes=True),
    _e("inventory", "create_purchase_order", "Order more units of a product from its supplier.", SKU, ("quantity", int, "Units to order."), ("supplier", str, "The supplier's name."), writes=True),
    _e("inventory", "adjust_inventory_count", "Correct a warehouse's stock count after a cycle count or damage.", SKU, ("delta", int, "Units to add (negative to remove)."), REASON, writes=True),
    _e("inventory", "forecast_demand", "Forecast how many units of a product will sell in the coming weeks.", SKU, ("weeks", int, "How many weeks ahead.")),
    _e("catalog", "search_products", "Search the product catalog by keywords, category or price range.", ("query", str, "What to look for.")),
    _e("catalog", "get_product_details", "A product's specification, dimensions, materials and warranty.", SKU),
    _e("catalog", "update_product_price", "Change the list price of a product in the online shop.", SKU, ("price", float, "The new price."), writes=True),
    _e("catalog", "publish_product_listing", "Publish a new product page to the storefront.", SKU, writes=True),
    _e("catalog", "list_product_reviews", "Read customer reviews and star ratings of a product.", SKU),
    _e("hr", "get_employee_profile", "An employee's job title, team, manager, start date and office.", EMPLOYEE_ID),
    _e("hr", "get_leave_balance", "How many vacation, sick and personal days an employee has left this year.", EMPLOYEE_ID),
    _e("hr", "request_time_off", "Submit a vacation or leave request for an employee's manager to approve.", EMPLOYEE_ID, ("start", str, "First day off."), ("end", str, "Last day off."), writes=True),
    _e("hr", "approve_time_off", "Approve or decline a pending leave request as the employee's manager.", ("request_id", str, "The leave request id."), ("approve", bool, "True to approve."), writes=True),
    _e("hr", "start_onboarding", "Start onboarding a new hire: accounts, laptop, badge and first-week plan.", ("name", str, "The new hire's full name."), ("start_date", str, "Their first day."), writes=True),
    _e("hr", "start_offboarding", "Offboard a leaving employee: revoke access, collect equipment, final pay.", EMPLOYEE_ID, ("last_day", str, "Their last working day."), writes=True),
    _e("hr", "search_hr_policies", "Search the employee handbook: benefits, parental leave, remote work, code of conduct.", ("query", str, "What to look for.")),
    _e("hr", "post_job_opening", "Publish a job posting on the careers site and job boards.", ("title", str, "The role's title."), ("team", str, "The hiring team."), writes=True),
    _e("hr", "schedule_interview", "Book an interview slot between a candidate and interviewers.", ("candidate", str, "The candidate's name."), DATE, writes=True),
    _e("hr", "submit_performance_review", "Submit an employee's annual performance review and rating.", EMPLOYEE_ID, ("rating", int, "Rating from 1 to 5."), ("summary", str, "The review's text."), writes=True),
    _e("payroll", "get_payslip", "An employee's payslip for a month: gross salary, tax, deductions, net pay.", EMPLOYEE_ID, PERIOD),
    _e("payroll", "update_bank_details", "Change the bank account an employee's salary is paid into.", EMPLOYEE_ID, ("iban", str, "The new IBAN."), writes=True),
    _e("payroll", "run_payroll", "Run the monthly payroll and pay every employee's salary. Moves money.", PERIOD, writes=True),
    _e("payroll", "record_overtime", "Record overtime hours an employee worked, to be paid with the next salary.", EMPLOYEE_ID, ("hours", float, "Overtime hours."), writes=True),
    _e("payroll", "get_tax_withholding", "An employee's income tax withholding settings and year-to-date tax.", EMPLOYEE_ID),
    _e("it", "reset_password", "Send a password reset link to an employee's work account.", ("username", str, "The account's username."), writes=True),
    _e("it", "unlock_account", "Unlock a work account locked after too many failed sign-ins.", ("username", str, "The account's username."), writes=True),
    _e("it", "grant_app_access", "Give an employee access to a business application (Salesforce, Jira, GitHub...).", ("username", str, "The account's username."), ("application", str, "The application."), writes=True),
    _e("it", "revoke_app_access", "Remove an employee's access to a business application.", ("username", str, "The account's username."), ("application", str, "The application."), writes=True),
    _e("it", "open_it_ticket", "Open a helpdesk ticket for a hardware or software problem.", ("summary", str, "What is wrong."), ("priority", str, "low, normal or urgent."), writes=True),
    _e("it", "get_it_ticket", "Status and latest update of a helpdesk ticket.", ("ticket_id", str, "The ticket number.")),
    _e("it", "order_laptop", "Order a laptop, monitor or other equipment for an employee.", EMPLOYEE_ID, ("item", str, "What to order."), writes=True),
    _e("it", "enroll_mfa_device", "Register a phone or security key for two-factor authentication.", ("username", str, "The account's username."), ("device", str, "Authenticator app or key serial."), writes=True),
    _e("it", "check_vpn_status", "Whether the corporate VPN is up and an employee's last VPN connection.", ("username", str, "The account's username.")),
    _e("it", "create_email_alias", "Create a mailing list or shared mailbox address.", ("alias", str, "The address, e.g. sales-eu@."), ("members", str, "Comma-separated usernames."), writes=True),
    _e("calendar", "list_calendar_events", "List the meetings on someone's calendar for a day or week.", ("person", str, "Whose calendar."), DATE),
    _e("calendar", "create_meeting", "Schedule a meeting with attendees, a time and a video link.", ("title", str, "The meeting's title."), ("attendees", str, "Comma-separated emails."), ("start", str, "Start time, ISO format."), writes=True),
    _e("calendar", "find_free_slot", "Find a time when all the given people are free to meet.", ("attendees", str, "Comma-separated emails."), ("duration_min", int, "Length in minutes.")),
    _e("calendar", "cancel_meeting", "Cancel a meeting and notify its attendees.", ("event_id", str, "The calendar event id."), writes=True),
    _e("calendar", "book_meeting_room", "Reserve a conference room in an office for a time slot.", ("office", str, "Which office."), ("start", str, "Start time."), writes=True),
    _e("messaging", "send_email", "Send an email from the company's support address.", ("to", str, "Recipient address."), ("subject", str, "Subject line."), ("body", str, "The message."), writes=True),
    _e("messaging", "post_slack_message", "Post a message to a Slack channel.", ("channel", str, "The channel, e.g. #ops."), ("text", str, "The message."), writes=True),
    _e("messaging", "send_sms", "Text a short message to a phone number.", ("phone", str, "The phone number."), ("text", str, "The message."), writes=True),
    _e("messaging", "search_email_archive", "Search past emails exchanged with a customer or supplier.", ("query", str, "What to look for.")),
    _e("crm", "lookup_customer", "Find a customer account by name, email or phone: contact details and lifetime value.", ("query", str, "Name, email or phone.")),
    _e("crm", "update_customer_contact", "Change a customer's email, phone number or postal address on their account.", CUSTOMER_ID, ("field", str, "email, phone or address."), ("value", str, "The new value."), writes=True),
    _e("crm", "create_lead", "Record a new sales lead from a prospect who showed interest.", ("company", str, "The prospect's company."), ("contact", str, "Who to talk to."), writes=True),
    _e("crm", "update_deal_stage", "Move a sales opportunity to another pipeline stage (qualified, proposal, won, lost).", ("deal_id", str, "The opportunity id."), ("stage", str, "The new stage."), writes=True),
    _e("crm", "get_sales_pipeline", "The open sales opportunities of a sales rep or region with their value and stage.", ("owner", str, "Sales rep or region.")),
    _e("crm", "log_customer_call", "Log a phone call with a customer on their account timeline.", CUSTOMER_ID, ("notes", str, "What was said."), writes=True),
    _e("crm", "generate_quote", "Prepare a price quote PDF for a prospect with products and discounts.", ("deal_id", str, "The opportunity id."), ("discount_pct", float, "Discount in percent.")),
    _e("crm", "merge_duplicate_customers", "Merge two customer records that belong to the same person.", ("keep_id", str, "The record kept."), ("merge_id", str, "The record merged into it."), writes=True),
    _e("marketing", "create_email_campaign", "Draft a newsletter or promotional email campaign to a customer segment.", ("segment", str, "Who receives it."), ("subject", str, "Subject line."), writes=True),
    _e("marketing", "send_email_campaign", "Send a drafted email campaign to its whole audience now.", ("campaign_id", str, "The campaign id."), writes=True),
    _e("marketing", "get_campaign_metrics", "Open rate, click rate, unsubscribes and revenue of an email campaign.", ("campaign_id", str, "The campaign id.")),
    _e("marketing", "unsubscribe_contact", "Remove an email address from every marketing mailing list.", ("email", str, "The address."), writes=True),
    _e("marketing", "schedule_social_post", "Schedule a post on the company's Instagram, LinkedIn or X accounts.", ("network", str, "The social network."), ("text", str, "The post."), ("at", str, "When to publish."), writes=True),
    _e("marketing", "create_promo_code", "Create a discount coupon code with a percentage off and an expiry date.", ("percent_off", float, "Percent off."), ("expires", str, "Expiry date."), writes=True),
    _e("analytics", "get_sales_report", "Revenue, orders and average basket for a period, by channel and category.", PERIOD),
    _e("analytics", "get_website_traffic", "Visitors, sessions, bounce rate and conversion rate of the web shop.", PERIOD),
    _e("analytics", "get_customer_churn", "Share of subscribers who cancelled in a period and why.", PERIOD),
    _e("analytics", "run_sql_query", "Run a read-only SQL query on the analytics warehouse.", ("sql", str, "The SELECT statement.")),
    _e("analytics", "get_nps_score", "Net promoter score and survey comments of a period.", PERIOD),
    _e("analytics", "export_report_csv", "Export a saved dashboard or report as a CSV file.", ("report_id", str, "The saved report.")),
    _e("devops", "get_service_health", "Health, error rate and latency of a production service right now.", SERVICE),
    _e("devops", "query_logs", "Search a service's application logs for errors or a text over a time window.", SERVICE, ("query", str, "Text or error to find."), ("minutes", int, "How far back.")),
    _e("devops", "deploy_service", "Deploy a build of a service to staging or production.", SERVICE, ("version", str, "The build or git tag."), ("environment", str, "staging or production."), writes=True),
    _e("devops", "rollback_deployment", "Roll a service back to its previous release after a bad deploy.", SERVICE, writes=True),
    _e("devops", "scale_service", "Change how many replicas (pods) of a service run in Kubernetes.", SERVICE, ("replicas", int, "The replica count."), writes=True),
    _e("devops", "restart_service", "Restart every instance of a service (rolling restart).", SERVICE, writes=True),
    _e("devops", "page_on_call", "Page the on-call engineer of a team about an incident.", ("team", str, "The team."), ("summary", str, "What is happening."), writes=True),
    _e("devops", "create_incident", "Declare an incident with a severity and open its incident channel.", ("title", str, "What is broken."), ("severity", str, "SEV1 to SEV4."), writes=True),
    _e("devops", "get_build_status", "Status of the latest CI pipeline runs of a repository: passing, failing, which tests.", ("repository", str, "The repository.")),
    _e("devops", "list_alerts", "Monitoring alerts currently firing, with their service and since when.", ("severity", str, "Minimum severity.")),
    _e("devops", "get_cloud_costs", "Cloud spending by service and account for a period (AWS, GCP).", PERIOD),
    _e("devops", "rotate_secret", "Rotate an API key or database password and update the services that use it.", ("secret_name", str, "The secret's name."), writes=True),
    _e("security", "check_login_history", "Recent sign-ins of an account with their IP address, country and device.", ("username", str, "The account's username.")),
    _e("security", "block_ip_address", "Block an IP address at the firewall.", ("ip", str, "The IP address."), REASON, writes=True),
    _e("security", "scan_for_vulnerabilities", "Scan a repository's dependencies for known CVEs.", ("repository", str, "The repository.")),
    _e("security", "report_phishing", "Report a suspicious email as phishing to the security team.", ("message_id", str, "The email's id."), writes=True),
    _e("security", "get_fraud_score", "The fraud risk score of a payment or account, with the signals behind it.", ("payment_id", str, "The payment or account.")),
    _e("finance", "submit_expense_report", "Submit receipts for reimbursement of work expenses.", EMPLOYEE_ID, AMOUNT, ("description", str, "What was bought."), writes=True),
    _e("finance", "approve_expense_report", "Approve an employee's expense report so it is reimbursed. Moves money.", ("report_id", str, "The expense report id."), writes=True),
    _e("finance", "pay_supplier_invoice", "Pay a supplier's bill by bank transfer. Moves money.", ("bill_id", str, "The supplier bill."), AMOUNT, writes=True),
    _e("finance", "get_budget_status", "How much of a department's budget is spent and committed this quarter.", ("department", str, "The department."), PERIOD),
    _e("finance", "get_exchange_rate", "Today's currency exchange rate between two currencies.", ("base", str, "From currency, e.g. EUR."), ("quote", str, "To currency, e.g. USD.")),
    _e("finance", "close_accounting_period", "Close the books of a month so no more entries can be posted.", PERIOD, writes=True),
    _e("finance", "get_cash_balance", "Balance of the company's bank accounts today.", ("account", str, "Bank account or 'all'.")),
    _e("legal", "search_contracts", "Search signed contracts by party, clause or renewal date.", ("query", str, "What to look for.")),
    _e("legal", "request_nda", "Prepare a non-disclosure agreement for a partner and send it for signature.", ("party", str, "The other party."), writes=True),
    _e("legal", "get_contract_renewals", "Contracts that renew or expire in the coming months.", ("months", int, "How far ahead.")),
    _e("legal", "delete_customer_data", "Erase a customer's personal data (GDPR right to be forgotten).", CUSTOMER_ID, writes=True),
    _e("facilities", "report_facility_issue", "Report a broken light, heating, leak or other office building problem.", ("office", str, "Which office."), ("problem", str, "What is wrong."), writes=True),
    _e("facilities", "register_visitor", "Register a visitor at reception and print their badge.", ("visitor", str, "The visitor's name."), DATE, writes=True),
    _e("facilities", "book_desk", "Reserve a hot desk in an office for a day.", ("office", str, "Which office."), DATE, writes=True),
    _e("travel", "search_flights", "Search flights between two cities on a date with prices.", ("origin", str, "From city."), ("destination", str, "To city."), DATE),
    _e("travel", "book_hotel", "Book a hotel room for a business trip.", ("city", str, "The city."), ("check_in", str, "Arrival date."), ("nights", int, "Nights."), writes=True),
    _e("travel", "get_travel_policy", "The company's travel policy: class of travel, hotel caps, per diems.", ("topic", str, "What to look up.")),
)  # fmt: skip


def _function(entry: CatalogEntry) -> Callable[..., str]:
    def run(**kwargs: Any) -> str:
        done = "requested" if entry.side_effects else "ok"
        return json.dumps({"tool": entry.name, "status": done, "args": kwargs}, default=str)

    run.__name__ = entry.name
    run.__doc__ = entry.description
    return run


def _schema(entry: CatalogEntry) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (kind, Field(description=text)) for name, kind, text in entry.args
    }
    title = "".join(part.title() for part in entry.name.split("_")) + "Args"
    model: type[BaseModel] = create_model(title, **fields)
    return model


def _tool(entry: CatalogEntry) -> BaseTool:
    return agent_tool(args_schema=_schema(entry), side_effects=entry.side_effects)(_function(entry))


@functools.cache
def _built() -> tuple[BaseTool, ...]:
    return tuple(_tool(entry) for entry in CATALOG)


def catalog_tools() -> list[BaseTool]:
    """Every catalog tool (built once per process), in catalog order."""
    return list(_built())


def catalog_domains() -> dict[str, str]:
    """Each tool's domain, by tool name."""
    return {entry.name: entry.domain for entry in CATALOG}
