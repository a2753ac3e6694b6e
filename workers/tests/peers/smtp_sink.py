"""A real SMTP server (aiosmtpd) on loopback for the email tests: every message it accepts is
written to OUT_DIR as <n>.eml (the raw data) and <n>.json (envelope). Prints {"ready": port}
and runs until stdin closes or --timeout passes."""
import argparse, json, os, sys, threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out, self.n = out, 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.out, "%03d" % self.n)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("out")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    c = Controller(Sink(a.out), hostname="127.0.0.1", port=a.port)
    c.start()
    print(json.dumps({"ready": a.port}), flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(a.timeout)
    c.stop()


if __name__ == "__main__":
    main()
