#!/usr/bin/env python3
"""HTTP server standing in for a CRM API in integration tests.

Binds a free port on 127.0.0.1, prints "PORT <n>" and serves until terminated. Answers follow
FOLDER/script.json, a list of {"status": int, "headers": {...}, "body": str} used one per request
in order (a request past the end gets 599). Every request is appended to FOLDER/requests.jsonl
as {"method", "path", "headers", "body"} before it is answered.
"""
import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", required=True)
    args = parser.parse_args()
    with open(os.path.join(args.folder, "script.json")) as f:
        script = json.load(f)
    state = {"next": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8") if length else ""
            record = {"method": self.command, "path": self.path,
                      "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            with open(os.path.join(args.folder, "requests.jsonl"), "a") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
            if state["next"] < len(script):
                answer = script[state["next"]]
            else:
                answer = {"status": 599, "body": "script exhausted"}
            state["next"] += 1
            payload = answer.get("body", "").encode("utf-8")
            self.send_response(answer["status"])
            for name, value in answer.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PUT = do_PATCH = handle_any

        def log_message(self, format, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    log = os.open(os.path.join(args.folder, "server.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
