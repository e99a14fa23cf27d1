#!/usr/bin/env python3
"""Calls every operation of both databases from Python, with stubs that
grpcio-tools generates from proto/ alone: what another language needs to
talk to the databases is in the proto, and nothing else.

Usage: grpc_check.py PROTO_DIR --product HOST:PORT[,...] --customer HOST:PORT[,...]

Prints one line per call and "OK: <n> calls" at the end; exits non-zero on
the first answer that is not the expected one.
"""

import argparse
import os
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc

DEADLINE_S = 5.0
PATIENCE_S = 30.0


def generate_stubs(proto_dir):
    """Generates the Python modules of proto_dir's files and imports them."""
    out = tempfile.mkdtemp(prefix="grpc-check-")
    for proto in ("marketplace.proto", "health.proto"):
        status = protoc.main([
            "grpc_tools.protoc",
            f"-I{proto_dir}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            proto,
        ])
        if status != 0:
            sys.exit(f"protoc failed on {proto}")
    sys.path.insert(0, out)


parser = argparse.ArgumentParser()
parser.add_argument("proto_dir")
parser.add_argument("--product", required=True)
parser.add_argument("--customer", required=True)
args = parser.parse_args()
generate_stubs(args.proto_dir)

import health_pb2  # noqa: E402  (generated above)
import health_pb2_grpc  # noqa: E402
import marketplace_pb2 as pb  # noqa: E402
import marketplace_pb2_grpc as rpc  # noqa: E402

calls = 0


def fail(message):
    sys.exit(f"FAILED: {message}")


def check(condition, message):
    if not condition:
        fail(message)


def failure_of(error):
    """The marketplace.Failure in a refused call's status details, or None."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return pb.Failure.FromString(value)
    return None


class Database:
    """One database's replicas; calls go to the one that serves."""

    def __init__(self, addresses, stub):
        self.stubs = [stub(grpc.insecure_channel(a)) for a in addresses.split(",")]
        self.addresses = addresses.split(",")
        self.target = 0

    def execute(self, request, expect):
        """Executes request and checks the reply's outcome is `expect`."""
        global calls
        started = time.time()
        while True:
            try:
                reply = self.stubs[self.target].Execute(request, timeout=DEADLINE_S)
            except grpc.RpcError as error:
                retry = failure_of(error) is None and error.code() in (
                    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                if retry and time.time() - started < PATIENCE_S:
                    self.target = (self.target + 1) % len(self.stubs)
                    time.sleep(0.1)
                    continue
                raise
            outcome = reply.WhichOneof("outcome")
            if outcome == "not_leader":
                hint = reply.not_leader.leader_hint
                in_range = 0 <= hint < len(self.stubs) and hint != self.target
                self.target = hint if in_range else (self.target + 1) % len(self.stubs)
                check(time.time() - started < PATIENCE_S, "no replica leads")
                time.sleep(0.05)
                continue
            command = request.WhichOneof("command")
            check(outcome == expect, f"{command}: got {outcome}, expected {expect}: {reply}")
            calls += 1
            print(f"{command} -> {outcome}")
            return getattr(reply, outcome)

    def refused(self, request, code, kind):
        """Executes request and checks it is refused with code and kind."""
        global calls
        try:
            reply = self.execute(request, expect="nothing")
        except grpc.RpcError as error:
            failure = failure_of(error)
            command = request.WhichOneof("command")
            check(error.code() == code, f"{command}: code {error.code()}, expected {code}")
            check(failure is not None, f"{command}: no Failure in the status details")
            check(failure.kind == kind, f"{command}: kind {failure.kind}, expected {kind}")
            check(failure.message == error.details(), f"{command}: two messages")
            calls += 1
            print(f"{command} refused: {error.code().name} {pb.Failure.Kind.Name(kind)}: "
                  f"{failure.message}")
            return failure
        fail(f"not refused: {reply}")


ids = iter(range(1, 1_000_000))
run = f"py{os.getpid()}"


def product_request(**command):
    return pb.ProductRequest(request_id=f"{run}-{next(ids)}", **command)


def customer_request(request_id=None, **command):
    return pb.CustomerRequest(request_id=request_id or f"{run}-{next(ids)}", **command)


def check_health(addresses, service):
    """Every replica answers the standard health check, and serves."""
    global calls
    for address in addresses.split(","):
        health = health_pb2_grpc.HealthStub(grpc.insecure_channel(address))
        started = time.time()
        while True:
            status = health.Check(health_pb2.HealthCheckRequest(service=service),
                                  timeout=DEADLINE_S).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                break
            check(time.time() - started < PATIENCE_S, f"{address} does not serve")
            time.sleep(0.2)
        calls += 1
        print(f"health {address} {service}: SERVING")


check_health(args.product, "marketplace.ProductDb")
check_health(args.customer, "marketplace.CustomerDb")
products = Database(args.product, rpc.ProductDbStub)
customers = Database(args.customer, rpc.CustomerDbStub)
C = pb.CustomerRequest
P = pb.ProductRequest
Code = grpc.StatusCode
Kind = pb.Failure

# Accounts and sessions.
seller = customers.execute(customer_request(create_account=C.CreateAccount(
    role=pb.SELLER, name=f"{run}-seller", password="pw")), "account_created").id
buyer = customers.execute(customer_request(create_account=C.CreateAccount(
    role=pb.BUYER, name=f"{run}-buyer", password="pw")), "account_created").id
customers.refused(customer_request(create_account=C.CreateAccount(
    role=pb.BUYER, name=f"{run}-buyer", password="pw")), Code.ABORTED, Kind.CONFLICT)
customers.refused(customer_request(login=C.Login(
    role=pb.BUYER, name=f"{run}-buyer", password="wrong")),
    Code.UNAUTHENTICATED, Kind.UNAUTHENTICATED)
seller_session = customers.execute(customer_request(login=C.Login(
    role=pb.SELLER, name=f"{run}-seller", password="pw")), "logged_in").session
logged_in = customers.execute(customer_request(login=C.Login(
    role=pb.BUYER, name=f"{run}-buyer", password="pw")), "logged_in")
check(logged_in.user == buyer, "the buyer's login names another user")
session = logged_in.session
touched = customers.execute(customer_request(touch=C.Touch(
    role=pb.SELLER, session=seller_session)), "session")
check(touched.user == seller, "the seller's session names another user")

# Items.
draft = pb.ItemDraft(name="python lamp", category=3, keywords=["py", "lamp"],
                     condition=pb.NEW, price_cents=1999, quantity=10)
item = products.execute(product_request(put_item=P.PutItem(seller=seller, draft=draft)),
                        "item_put").item
got = products.execute(product_request(get_item=P.GetItem(item=item)), "item")
check(got.price_cents == 1999 and got.seller == seller, f"the item as put: {got}")
products.execute(product_request(change_price=P.ChangePrice(
    seller=seller, item=item, price_cents=2500)), "done")
products.refused(product_request(change_price=P.ChangePrice(
    seller=seller + 1000, item=item, price_cents=100)), Code.PERMISSION_DENIED, Kind.FORBIDDEN)
left = products.execute(product_request(remove_units=P.RemoveUnits(
    seller=seller, item=item, quantity=2)), "item")
check(left.quantity == 8 and left.price_cents == 2500, f"after removing units: {left}")
listed = products.execute(product_request(list_seller_items=P.ListSellerItems(
    seller=seller, page=pb.Page(limit=10))), "items")
check([i.id for i in listed.items] == [item], f"the seller's items: {listed}")
found = products.execute(product_request(search=P.Search(category=3, keywords=["py"])), "items")
check(item in [i.id for i in found.items], f"the search: {found}")
products.refused(product_request(get_item=P.GetItem(item=pb.ItemId(category=3, number=99999))),
                 Code.NOT_FOUND, Kind.NOT_FOUND)
products.refused(product_request(), Code.INVALID_ARGUMENT, Kind.INVALID_INPUT)

# The cart.
customers.execute(customer_request(cart_add=C.CartAdd(
    session=session, item=item, quantity=3, available=8)), "cart")
cart = customers.execute(customer_request(cart_remove=C.CartRemove(
    session=session, item=item, quantity=1)), "cart")
check([(l.item, l.quantity) for l in cart.lines] == [(item, 2)], f"the cart: {cart}")
customers.execute(customer_request(cart_save=C.CartSave(session=session)), "done")
shown = customers.execute(customer_request(cart_show=C.CartShow(session=session)), "cart")
check(shown == cart, f"the cart shown: {shown}")

# A purchase, as a frontend makes it: hold the cart, sell, record.
purchase = f"{run}-purchase"
started = customers.execute(customer_request(purchase, begin_purchase=C.BeginPurchase(
    session=session, purchase=purchase)), "purchase_started")
check(started.buyer == buyer, f"the purchase's buyer: {started}")
failure = products.refused(product_request(purchase=P.Purchase(
    lines=[pb.CartLine(item=item, quantity=1000)])),
    Code.FAILED_PRECONDITION, Kind.INSUFFICIENT_STOCK)
check(failure.available == 8 and failure.requested == 1000, f"the shortage: {failure}")
sold = products.execute(product_request(purchase=P.Purchase(lines=started.lines)), "purchased")
record = customers.execute(customer_request(
    f"{purchase}/complete", complete_purchase=C.CompletePurchase(
        buyer=buyer, purchase=purchase, lines=sold.lines)), "purchased")
check(record.purchase == purchase and len(record.lines) == 1, f"the receipt: {record}")
history = customers.execute(customer_request(history=C.History(
    session=session, page=pb.HistoryPage(limit=10))), "history")
check([p.purchase for p in history.purchases] == [purchase] and history.next == 0,
      f"the history: {history}")

# Feedback and ratings.
recorded = customers.execute(customer_request(feedback=C.Feedback(
    session=session, item=item, thumb=pb.UP)), "feedback_recorded")
check(recorded.seller == seller, f"feedback counted on {recorded.seller}")
products.execute(product_request(feedback=P.Feedback(item=item, thumb=pb.UP)), "done")
rating = customers.execute(customer_request(seller_rating=C.SellerRating(
    session=session, seller=seller)), "rating")
check(rating.up == 1 and rating.down == 0, f"the seller's rating: {rating}")
standing = customers.execute(customer_request(own_rating=C.OwnRating(
    session=seller_session)), "seller_standing")
check(standing.items_sold == 2 and standing.rating.up == 1, f"the standing: {standing}")

# A purchase abandoned after its first step; the cart emptied.
customers.execute(customer_request(cart_add=C.CartAdd(
    session=session, item=item, quantity=1, available=6)), "cart")
abandoned = f"{run}-abandoned"
customers.execute(customer_request(abandoned, begin_purchase=C.BeginPurchase(
    session=session, purchase=abandoned)), "purchase_started")
customers.execute(customer_request(f"{abandoned}/abort", abort_purchase=C.AbortPurchase(
    buyer=buyer, purchase=abandoned)), "done")
customers.execute(customer_request(cart_clear=C.CartClear(session=session)), "done")
emptied = customers.execute(customer_request(cart_show=C.CartShow(session=session)), "cart")
check(len(emptied.lines) == 0, f"the cleared cart: {emptied}")

# The clock reading replicas send themselves, and the sessions' end.
customers.execute(customer_request(clock_reading=C.ClockReading()), "done")
customers.execute(customer_request(logout=C.Logout(role=pb.BUYER, session=session)), "done")
customers.execute(customer_request(logout=C.Logout(
    role=pb.SELLER, session=seller_session)), "done")
customers.refused(customer_request(touch=C.Touch(role=pb.BUYER, session=session)),
                  Code.UNAUTHENTICATED, Kind.UNAUTHENTICATED)
customers.refused(customer_request(), Code.INVALID_ARGUMENT, Kind.INVALID_INPUT)

print(f"OK: {calls} calls")
