#!/usr/bin/env python3
"""Writes schemas/events/<type>.json, one JSON Schema (draft 2020-12) per canonical event type.

The schemas share their building blocks (money, dates, identifiers), so they are generated from
this one description rather than kept by hand in twelve files; check.py fails when a file differs
from what this script writes. Run it after changing a type: python3 schemas/events/generate.py

The limits and shapes mirror daemon/core/event.cpp (the C++ parser is the reference; the
examples under examples/ are checked against both). Rules that JSON Schema cannot state are
enforced by the parser only and listed in README.md.
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
BASE_URI = "https://relance.dev/schemas/events/"

# Same limits as daemon/core/event.cpp.
IDENTIFIER_CHARS_MAX = 256
SOURCE_CHARS_MAX = 1024
TEXT_CHARS_MAX = 4096
IDS_ITEMS_MAX = 1000
EMAILS_ITEMS_MAX = 50
LANGUAGE_CHARS_MAX = 35
TIMEZONE_CHARS_MAX = 64

# ISO 4217 minor units, same table as daemon/core/money.cpp (exponent 2 unless listed).
CURRENCIES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split()
EXPONENTS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(),
    3: "BHD IQD JOD KWD LYD OMR TND".split(),
    4: "CLF UYW".split(),
}

TYPES = [
    "invoice.issued", "invoice.updated", "invoice.cancelled", "invoice.written_off",
    "credit_note.issued", "payment.received", "payment.reversed", "dispute.opened",
    "dispute.resolved", "promise_to_pay.recorded", "payment_plan.agreed", "customer.upserted",
]

# No control characters (U+0000-U+001F, U+007F); identifiers also no leading or trailing space.
NO_CONTROL = "^[^\\u0000-\\u001f\\u007f]+$"
IDENTIFIER_PATTERN = ("^[^\\u0000-\\u001f\\u007f ]"
                      "([^\\u0000-\\u001f\\u007f]*[^\\u0000-\\u001f\\u007f ])?$")


def amount_pattern(exponent):
    # Digits, an optional fraction of at most `exponent` significant decimals; extra trailing
    # zeros are exact and allowed ("12.340" EUR), as the parser allows them.
    if exponent == 0:
        return "^[0-9]+(\\.0+)?$"
    return "^[0-9]+(\\.[0-9]{1,%d}0*)?$" % exponent


def defs():
    # The pattern of `amount` depends on the currency's exponent.
    by_exponent = {2: [c for c in CURRENCIES if not any(c in v for v in EXPONENTS.values())]}
    by_exponent.update(EXPONENTS)
    currency_rules = [
        {
            "if": {"properties": {"currency": {"enum": codes}}, "required": ["currency"]},
            "then": {"properties": {"amount": {"pattern": amount_pattern(exponent)}}},
        }
        for exponent, codes in sorted(by_exponent.items())
    ]
    return {
        "identifier": {
            "description": "An identifier from the ERP: 1 to %d characters, no control "
                           "characters, no leading or trailing space." % IDENTIFIER_CHARS_MAX,
            "type": "string",
            "minLength": 1,
            "maxLength": IDENTIFIER_CHARS_MAX,
            "pattern": IDENTIFIER_PATTERN,
        },
        "text": {
            "description": "Free text (names, reasons, remittance information); may span lines.",
            "type": "string",
            "minLength": 1,
            "maxLength": TEXT_CHARS_MAX,
        },
        "date": {
            "description": "An ISO 8601 calendar date, YYYY-MM-DD.",
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        },
        "money_any": {
            "description": "Money: a decimal string converted exactly into minor units of an "
                           "ISO 4217 currency. Never a JSON number; no sign, exponent or "
                           "separators; at most as many significant decimals as the currency "
                           "has (JPY 0, EUR 2, TND 3).",
            "type": "object",
            "required": ["amount", "currency"],
            "properties": {
                "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
                "currency": {"type": "string", "enum": CURRENCIES},
            },
            "allOf": currency_rules,
        },
        "money": {
            "description": "A positive amount.",
            "$ref": "#/$defs/money_any",
            "properties": {"amount": {"not": {"pattern": "^0+(\\.0+)?$"}}},
        },
        "money_or_zero": {
            "description": "An amount that may be zero.",
            "$ref": "#/$defs/money_any",
        },
        "identifiers": {
            "type": "array",
            "maxItems": IDS_ITEMS_MAX,
            "uniqueItems": True,
            "items": {"$ref": "#/$defs/identifier"},
        },
        "version": {
            "description": "Between two versions of one invoice, the higher wins.",
            "type": "integer",
            "minimum": 0,
            "maximum": 9223372036854775807,
        },
    }


def ref(name):
    return {"$ref": "#/$defs/" + name}


def optional(schema):
    # JSON null means "not given", as in the parser: ERPs often send null for an empty field.
    return {"anyOf": [{"type": "null"}, schema]}


def data_schema(event_type):
    """(properties, required, extra keywords) of `data` for one type."""
    money_list = lambda item: {"type": "array", "maxItems": IDS_ITEMS_MAX, "items": item}
    if event_type in ("invoice.issued", "invoice.updated"):
        return {
            "invoice_id": ref("identifier"),
            "customer_id": ref("identifier"),
            "amount": ref("money"),
            "issue_date": ref("date"),
            "due_date": dict(ref("date"), description="On or after issue_date."),
            "number": optional(ref("identifier")),
            "payment_terms": optional(ref("text")),
            "purchase_order": optional(ref("identifier")),
            "version": optional(ref("version")),
        }, ["invoice_id", "customer_id", "amount", "issue_date", "due_date"], {}
    if event_type == "invoice.cancelled":
        return {
            "invoice_id": ref("identifier"),
            "reason": optional(ref("text")),
            "version": optional(ref("version")),
        }, ["invoice_id"], {}
    if event_type == "invoice.written_off":
        return {
            "invoice_id": ref("identifier"),
            "amount": optional(dict(ref("money"), description="Absent: the whole open amount.")),
            "reason": optional(ref("text")),
        }, ["invoice_id"], {}
    if event_type == "credit_note.issued":
        return {
            "credit_note_id": ref("identifier"),
            "customer_id": ref("identifier"),
            "amount": ref("money"),
            "issue_date": ref("date"),
            "invoice_id": optional(ref("identifier")),
        }, ["credit_note_id", "customer_id", "amount", "issue_date"], {}
    if event_type == "payment.received":
        allocation = {
            "type": "object",
            "required": ["invoice_id", "amount"],
            "properties": {"invoice_id": ref("identifier"), "amount": ref("money")},
        }
        return {
            "payment_id": ref("identifier"),
            "amount": ref("money"),
            "received_date": ref("date"),
            "customer_id": optional(ref("identifier")),
            "allocations": optional(dict(
                money_list(allocation),
                description="Explicit allocation by the ERP, in the payment's currency, adding "
                            "up to at most the payment amount.")),
            "remittance_info": optional(ref("text")),
            "structured_reference": optional(ref("identifier")),
            "method": optional(ref("identifier")),
        }, ["payment_id", "amount", "received_date"], {}
    if event_type == "payment.reversed":
        return {
            "payment_id": ref("identifier"),
            "reversed_date": ref("date"),
            "reason": optional(ref("text")),
        }, ["payment_id", "reversed_date"], {}
    if event_type == "dispute.opened":
        return {
            "invoice_id": ref("identifier"),
            "reason": ref("text"),
            "dispute_id": optional(ref("identifier")),
            "amount": optional(dict(ref("money"), description="The disputed part; absent: the "
                                                              "whole invoice.")),
        }, ["invoice_id", "reason"], {}
    if event_type == "dispute.resolved":
        return {
            "invoice_id": ref("identifier"),
            "dispute_id": optional(ref("identifier")),
            "resolution": optional(ref("text")),
        }, ["invoice_id"], {}
    if event_type == "promise_to_pay.recorded":
        return {
            "invoice_ids": optional(ref("identifiers")),
            "customer_id": optional(dict(ref("identifier"), description="Alone: the promise "
                                         "covers the customer's open items.")),
            "amount": ref("money"),
            "promised_date": ref("date"),
            "promise_id": optional(ref("identifier")),
        }, ["amount", "promised_date"], {
            # At least one of invoice_ids (non-empty) and customer_id.
            "anyOf": [
                {"required": ["invoice_ids"],
                 "properties": {"invoice_ids": {"type": "array", "minItems": 1}}},
                {"required": ["customer_id"], "properties": {"customer_id": {"type": "string"}}},
            ],
        }
    if event_type == "payment_plan.agreed":
        instalment = {
            "type": "object",
            "required": ["due_date", "amount"],
            "properties": {"due_date": ref("date"), "amount": ref("money")},
        }
        return {
            "plan_id": ref("identifier"),
            "invoice_ids": dict(ref("identifiers"), minItems=1),
            "instalments": dict(money_list(instalment), minItems=1,
                                description="In due-date order, all in one currency."),
        }, ["plan_id", "invoice_ids", "instalments"], {}
    if event_type == "customer.upserted":
        email = {
            "type": "string",
            "maxLength": IDENTIFIER_CHARS_MAX,
            "pattern": "^[^@\\u0000-\\u0020\\u007f]+@[^@\\u0000-\\u0020\\u007f]+"
                       "\\.[^@\\u0000-\\u0020\\u007f]+$",
        }
        return {
            "customer_id": ref("identifier"),
            "name": ref("text"),
            "emails": optional({"type": "array", "maxItems": EMAILS_ITEMS_MAX,
                                "uniqueItems": True, "items": email}),
            "language": optional({
                "description": "A BCP 47 language tag (\"fr\", \"en-GB\").",
                "type": "string", "maxLength": LANGUAGE_CHARS_MAX,
                "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"}),
            "timezone": optional({
                "description": "An IANA time zone name (\"Europe/Paris\").",
                "type": "string", "maxLength": TIMEZONE_CHARS_MAX,
                "pattern": "^[A-Za-z][A-Za-z0-9_+\\-]*(/[A-Za-z0-9_+\\-]+)*$"}),
            "segment": optional(ref("identifier")),
            "crm_id": optional(ref("identifier")),
            "credit_limit": optional(ref("money_or_zero")),
        }, ["customer_id", "name"], {}
    raise ValueError(event_type)


def schema(event_type):
    properties, required, extra = data_schema(event_type)
    data = {"type": "object", "required": required, "properties": properties, **extra}
    uri_text = {"type": "string", "minLength": 1, "maxLength": SOURCE_CHARS_MAX,
                "pattern": NO_CONTROL}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_URI + event_type + ".json",
        "title": event_type,
        "description": "A CloudEvents 1.0 envelope (structured mode, JSON) carrying a Relance "
                       "'%s' event. Unknown attributes and data fields are allowed and kept. "
                       "null stands for an absent optional field." % event_type,
        "type": "object",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": dict(ref("identifier"), description="With source, the idempotency key."),
            "source": dict(uri_text, description="A URI reference naming the producer "
                                                 "(\"erp/odoo\", \"https://erp.example.fr\")."),
            "type": {"const": event_type},
            "time": optional({
                "description": "RFC 3339 with an offset; leap seconds are refused.",
                "type": "string",
                "format": "date-time",
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:"
                           "[0-5][0-9](\\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$",
            }),
            "subject": optional(uri_text),
            "dataschema": optional(uri_text),
            "datacontenttype": optional({"type": "string",
                                         "pattern": "^application/json(;[\\s\\S]*)?$"}),
            "data": data,
        },
        "not": {"required": ["data_base64"]},
        "$defs": defs(),
    }


def render(event_type):
    return json.dumps(schema(event_type), indent=2, ensure_ascii=False) + "\n"


def main():
    for event_type in TYPES:
        (HERE / (event_type + ".json")).write_text(render(event_type), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
