"""Drives the vendor's Python SDK (byourside 0.1.0, unchanged) against running sandboxes.

Usage: sdk_check.py MAIN_URL RATE_LIMITED_URL MINUTE_CAPPED_URL FAILING_URL

MAIN_URL runs with --time-scale 0.01 --webhook-secret whsec_sdk_check; RATE_LIMITED_URL with
--rate-limit 1/min; MINUTE_CAPPED_URL with --minute-cap 0; FAILING_URL with --error-rate 1.

Exits non-zero on the first failed check (an ImportError included: a missing SDK is a failure,
never a skip). On success prints one JSON line with a webhook delivery the sandbox signed, so the
Rust side can check it with its own verifier too.
"""
import http.server
import json
import sys
import threading
import time
from unittest import mock

import byourside
from byourside import ByoursideError, Client, verify_webhook

SECRET = "whsec_sdk_check"
KEY = "bys_ak_sdk_check"


def expect_error(what, fn, status, code):
    try:
        fn()
    except ByoursideError as err:
        assert (err.status, err.code) == (status, code), (what, err.status, err.code, err.message)
        assert KEY not in err.message, "the SDK must never echo the key"
        print("ok  %-34s -> %s %s (%s)" % (what, err.status, err.code, err.message), file=sys.stderr)
        return err
    raise AssertionError("%s: expected %s %s, got success" % (what, status, code))


class Hooks(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        Hooks.received.append((self.headers.get("X-BYS-Signature"), raw.decode("utf-8")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    main_url, limited_url, capped_url, failing_url = sys.argv[1:5]
    assert byourside.__name__ == "byourside"
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    hook_url = "http://127.0.0.1:%d/hook" % hooks.server_address[1]

    client = Client(KEY, base_url=main_url)

    # place_call / get_call / wait_for_call
    placed = client.place_call(
        "+14155550190",
        "Confirm the delivery window for order 1042.",
        context="Fictional test customer.",
        fields=[
            {"name": "confirmed", "type": "boolean"},
            {"name": "boxes", "type": "number"},
            {"name": "window", "description": "When they can receive it"},
        ],
        webhook_url=hook_url,
        caller_id="+14155550100",
    )
    assert placed["status"] == "queued" and placed["callId"], placed
    call_id = placed["callId"]
    got = client.get_call(call_id)
    assert got["id"] == call_id and got["status"] not in byourside.client.TERMINAL, got
    done = client.wait_for_call(call_id, timeout=60, interval=0.2)
    assert done["status"] == "completed", done
    assert set(done["extracted"]) == {"confirmed", "boxes", "window"}, done
    assert done["transcript"].startswith("Agent: "), done
    assert done["durationSec"] > 0 and done["startedAt"] and done["endedAt"], done
    assert done["recordingUrl"].endswith("/v1/agent/calls/%s/recording" % call_id), done
    print("ok  place_call/get_call/wait_for_call -> %s" % done["status"], file=sys.stderr)

    # A call that never finishes makes wait_for_call time out, the SDK's own error.
    stuck = client.place_call("+14155550195", "Ask a question.")["callId"]
    expect_error("wait_for_call on 555-0195", lambda: client.wait_for_call(stuck, timeout=0.5, interval=0.1), 0, "timeout")

    # list_calls: most recent first, both id and callId.
    calls = client.list_calls(limit=2)
    assert [c["id"] for c in calls] == [stuck, call_id], calls
    assert all(c["callId"] == c["id"] and c["createdAt"] for c in calls), calls
    assert len(client.list_calls()) == 2
    assert len(client.list_calls(limit=1000)) == 2  # the SDK clamps to 100

    # Every error the SDK knows.
    expect_error("to missing", lambda: client.place_call("", "x"), 400, "to_required")
    expect_error("objective missing", lambda: client.place_call("+14155550123", ""), 400, "objective_required")
    expect_error("bad number", lambda: client.place_call("4155550123", "x"), 400, "invalid_number")
    expect_error("premium number", lambda: client.place_call("+19005550123", "x"), 400, "destination_blocked")
    expect_error("caller id", lambda: client.place_call("+14155550123", "x", caller_id="+14155550177"), 400, "caller_id_not_owned")
    expect_error("21 fields", lambda: client.place_call("+14155550123", "x", fields=[{"name": "f%d" % i} for i in range(21)]), 400, "invalid_request")
    expect_error("bad key", lambda: Client("sk_nope", base_url=main_url).list_calls(), 401, "unauthorized")
    expect_error("unknown call", lambda: client.get_call("no such/call"), 404, "not_found")
    expect_error("555-0196", lambda: client.place_call("+14155550196", "x"), 503, "placement_failed")

    limited = Client(KEY, base_url=limited_url)
    limited.place_call("+14155550123", "x")
    err = expect_error("--rate-limit 1/min", lambda: limited.place_call("+14155550124", "x"), 429, "rate_limited")
    assert err.message == "Rate limit reached. Try again shortly.", err.message
    expect_error("--minute-cap 0", lambda: Client(KEY, base_url=capped_url).place_call("+14155550123", "x"), 429, "over_minute_cap")
    expect_error("--error-rate 1", lambda: Client(KEY, base_url=failing_url).get_call("x"), 503, "store_error")

    # verify_webhook on what the sandbox signed.
    deadline = time.monotonic() + 30
    while len(Hooks.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    events = sorted(json.loads(body)["event"] for _, body in Hooks.received)
    assert events == ["call.completed", "call.in_progress"], events
    for header, body in Hooks.received:
        assert verify_webhook(header, body, SECRET), header
        assert not verify_webhook(header, body, "whsec_wrong")
        changed = body.replace('"', "'", 1)
        assert not verify_webhook(header, changed, SECRET)
        signed_at = int(header.split(",")[0].split("=")[1])
        with mock.patch("byourside.webhooks.time.time", return_value=signed_at + 301):
            assert not verify_webhook(header, body, SECRET), "a stale signature must fail"
        with mock.patch("byourside.webhooks.time.time", return_value=signed_at + 299):
            assert verify_webhook(header, body, SECRET), "within 300 s it still verifies"
    print("ok  verify_webhook: good, wrong secret, changed byte, stale", file=sys.stderr)
    header, body = Hooks.received[0]
    print(json.dumps({"signature": header, "body": body}))


if __name__ == "__main__":
    main()
