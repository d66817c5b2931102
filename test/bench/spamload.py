#!/usr/bin/env python3
"""Sends N messages to one recipient on port 25 over C parallel SMTP
connections (Python's smtplib, one connection per sender thread, reused),
as fast as the server accepts them; prints the seconds from the first
MAIL FROM to the last 250.  test/bench/spam.sh times delivery around it.

    spamload.py HOST PORT RCPT N C BODYFILE
"""
import smtplib
import sys
import threading
import time

host, port, rcpt, n, c, body_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
body = open(body_file).read()
counter = iter(range(n))
lock = threading.Lock()
failed = []


def worker(k):
    s = smtplib.SMTP(host, port, local_hostname="bench.example", timeout=60)
    while True:
        with lock:
            i = next(counter, None)
        if i is None:
            break
        msg = ("From: sender%d@bench-outside.example\r\nTo: %s\r\nSubject: bench %d\r\n"
               "Message-ID: <bench-%d-%d@bench-outside.example>\r\nDate: %s\r\n\r\n%s\r\n") % (
            k, rcpt, i, i, int(time.time() * 1000), time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()), body)
        try:
            s.sendmail("sender%d@bench-outside.example" % k, [rcpt], msg)
        except smtplib.SMTPException as e:
            failed.append(str(e))
    s.quit()


t0 = time.monotonic()
threads = [threading.Thread(target=worker, args=(k,)) for k in range(c)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failed:
    sys.exit("spamload: %d sends failed, e.g. %s" % (len(failed), failed[0]))
print("%.3f" % (time.monotonic() - t0))
