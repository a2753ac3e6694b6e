#!/usr/bin/env python3
"""A stand-in for a site's central chatbot (docs/brain-contract.md, JSON reply) that answers
from bench/conversation/faq.csv after a fixed delay: the bench's "HTTP brain that takes N ms to
its first token"."""
import argparse
import csv
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))


def load_faq():
    with open(os.path.join(HERE, "faq.csv")) as f:
        return [(r["question"], r["answer"]) for r in csv.DictReader(f)]


def best(faq, text):
    words = {w.strip("?.,!").lower() for w in text.split() if len(w) > 2}
    scored = [(len(words & {w.strip("?.,!").lower() for w in q.split()}), a) for q, a in faq]
    score, answer = max(scored)
    return answer if score else "Sorry, I do not have that information."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay-ms", type=int, default=200)
    args = ap.parse_args()
    faq = load_faq()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            time.sleep(args.delay_ms / 1000.0)
            out = json.dumps({"answer": best(faq, body.get("text", ""))}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
