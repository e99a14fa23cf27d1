#!/usr/bin/env python3
"""Checks that a standard SOAP client, Python zeep, can call the financial
service knowing nothing but its WSDL.

Not part of the Rust test suite (it needs Python and zeep). To run it:

    python3 -m venv /tmp/zeep-venv && /tmp/zeep-venv/bin/pip install zeep==4.3.3
    # start a financial service, then:
    /tmp/zeep-venv/bin/python scripts/zeep_check.py http://127.0.0.1:8100/soap?wsdl
    # with --expect approved (service run with probability 1.0) or
    # --expect declined (probability 0.0), the answer itself is checked too.

Exits 0 and prints "zeep check passed" when every check holds.
"""

import argparse
import sys

import zeep
from lxml import etree
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin

VALID = dict(
    cardHolder="O'Brien <&> \"Ada\"",
    cardNumber="4111 1111 1111 1111",
    expiry="12/99",
    amountCents=1250,
    requestId="zeep-check-1",
)


def expect_fault(service, message_start, **changes):
    """Calls with `changes` applied to VALID and expects a soap:Client Fault."""
    try:
        service.AuthorizePayment(**{**VALID, **changes})
    except Fault as fault:
        assert fault.code.endswith("Client"), f"fault code {fault.code!r}"
        assert fault.message.startswith(message_start), f"fault message {fault.message!r}"
        return
    raise AssertionError(f"expected a Fault for {changes}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wsdl", help="WSDL URL, e.g. http://127.0.0.1:8100/soap?wsdl")
    parser.add_argument("--expect", choices=["approved", "declined"])
    args = parser.parse_args()

    history = HistoryPlugin()
    client = zeep.Client(args.wsdl, plugins=[history])
    service = client.service

    first = service.AuthorizePayment(**VALID)
    print("sent:", etree.tostring(history.last_sent["envelope"]).decode())
    assert isinstance(first.approved, bool), f"approved is {first.approved!r}"
    assert isinstance(first.reason, str), f"reason is {first.reason!r}"
    again = service.AuthorizePayment(**VALID)
    assert (again.approved, again.reason) == (first.approved, first.reason), "not deterministic"
    if args.expect:
        assert first.approved == (args.expect == "approved"), f"got {first}"
        if args.expect == "declined":
            assert first.reason == "card declined", f"reason {first.reason!r}"
    print(f"AuthorizePayment -> approved={first.approved} reason={first.reason!r}")

    expect_fault(service, "card expired in 01/20", expiry="01/20")
    expect_fault(service, "expiry must be MM/YY", expiry="13/30")
    expect_fault(service, "card number must be", cardNumber="4111")
    expect_fault(service, "amount must be more than zero", amountCents=0)
    expect_fault(service, "card holder must be", cardHolder="x" * 65)
    print("zeep check passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"zeep check FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
