#!/usr/bin/env python3
"""SMTP server for integration tests (Debian python3-aiosmtpd).

Binds a free port on 127.0.0.1, prints "PORT <n>" and serves until terminated. Each accepted
message is written to FOLDER as msg-<n>.eml (the raw bytes), and msg-<n>.json: the envelope plus
what Python's own email parser makes of the message (decoded headers, text and html parts,
defects), an independent check of the MIME the sink builds.

A test makes the server refuse by writing a reply line into FOLDER/answer-rcpt or
FOLDER/answer-data (for example "451 4.7.1 Greylisted" or "550 5.7.1 Refused").
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult


class Handler:
    def __init__(self, folder, data_delay=0.0):
        self.folder = folder
        self.count = 0
        self.data_delay = data_delay

    def scripted(self, stage):
        path = os.path.join(self.folder, "answer-" + stage)
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
        return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.scripted("rcpt")
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        answer = self.scripted("data")
        if answer:
            return answer
        self.count += 1
        raw = envelope.original_content
        base = os.path.join(self.folder, "msg-%d" % self.count)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parsed = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "defects": [repr(d) for d in message.defects],
            "parts": [],
        }
        for part in message.walk():
            if part.is_multipart():
                continue
            parsed["parts"].append({
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "content": part.get_content(),
                "defects": [repr(d) for d in part.defects],
            })
        with open(base + ".eml.tmp", "wb") as f:
            f.write(raw)
        with open(base + ".json.tmp", "w") as f:
            json.dump(parsed, f, ensure_ascii=False)
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        # --data-delay: the message is kept before the client hears 250, so a client killed
        # meanwhile cannot know that it was delivered (the crash tests' window).
        if self.data_delay > 0:
            await asyncio.sleep(self.data_delay)
        return "250 2.0.0 Ok: queued as %d" % self.count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--data-delay", type=float, default=0.0,
                        help="seconds between keeping a message and answering 250")
    args = parser.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == args.user and
              auth_data.password.decode() == args.password)
        # handled=False: aiosmtpd then answers 535 itself; with the default (handled=True) it
        # sends nothing and the client waits for a reply until its deadline.
        return AuthResult(success=ok, handled=False)

    options = {"hostname": "smtp.test", "decode_data": False}
    if args.user:
        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    handler = Handler(args.folder, args.data_delay)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler, **options), host="127.0.0.1",
                                          port=0)
        print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
        log = os.open(os.path.join(args.folder, "server.log"),
                      os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(log, 1)
        os.dup2(log, 2)
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
