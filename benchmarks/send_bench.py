"""Sending throughput and memory: redline notify vs plain smtplib vs naive yagmail.

    .venv/bin/python benchmarks/send_bench.py [--subscribers 10000] [--delayed 1000]
        [--delays 0,20] [--connections 4] [--naive 1000] [--memory 10000,100000] [--million]

Every sender talks to a local SMTP sink (aiosmtpd, tests/smtp_servers.py) running in its own
process, one sink per delay: it answers each DATA after 0 ms (loopback) and after 20 ms
(like a real relay). For each delay, in the same run:

* redline: ``send_notices`` with its SQLite ledger (queue, claim, send, record the results
  in batches), in a fresh process, over 1 and over N sessions (``--connections``);
* the smtplib ceiling: plain smtplib over 1 and over N connections (one thread each),
  sending the same messages made by the same CampaignFactory, without any ledger;
* naive yagmail: ``yagmail.SMTP.send()`` per message, which connects each time (a rate,
  measured on ``--naive`` messages).

``--subscribers`` is the size at 0 ms, ``--delayed`` at 20 ms (a 20 ms sink takes 20 s per
1000 messages on one connection). Then the peak memory (max RSS) of the redline process at
each ``--memory`` size (over N sessions, 0 ms sink); ``--million`` adds 1,000,000.

Targets: at 20 ms, redline over N=4 >= 0.85x the 4-connection ceiling; over 1 session >= 0.9x
the 1-connection ceiling; peak memory at the largest size <= 1.2x the peak at 10,000.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SINK = ROOT / "tests" / "smtp_servers.py"
POLICY = "bench"
SENDER = "Acme Legal <legal@acme.example>"
UNSUBSCRIBE_URL = "https://acme.example/unsubscribe?token={token}"
SECRET = "benchmark-secret-benchmark-secret"
TARGET_ONE = 0.9
TARGET_MANY = 0.85
TARGET_MEMORY = 1.2


def notice():
    """The notice rendered by redline's own templates, with a dozen changed sections."""
    from datetime import UTC, date, datetime

    from redline.publish.links import Links
    from redline.publish.notice import NoticeContext, PolicyInfo, render_notice
    from redline.publish.prose import SectionChange
    from redline.publish.templates import Templates

    sections = tuple(
        SectionChange(
            name=f"Section {n} (Topic {n})", number=str(n), title=f"Topic {n}",
            old_number=str(n), old_title=f"Topic {n}", status="modified", moved=False,
            renumbered=False, retitled=False, level=2,
            description="one paragraph changed; new list item", blocks_changed=1,
            blocks_added=1, words_inserted=40, words_deleted=12,
        )
        for n in range(3, 15)
    )  # fmt: skip
    context = NoticeContext(
        policy=PolicyInfo(slug=POLICY, path=f"policies/{POLICY}.md", title="Privacy Policy"),
        version=4,
        previous_version=3,
        effective_date=date(2025, 7, 1),
        published=datetime(2025, 5, 30, 9, 0, tzinfo=UTC),
        classification="material",
        summary="We now name our hosting partners and keep support tickets for two years.",
        short_notice=False,
        sections=sections,
        renumbered=(),
        stats={"words_inserted": 480, "words_deleted": 144, "sections_modified": 12},
        links=Links(
            redline=f"https://policies.acme.example/{POLICY}/4/",
            page=f"https://policies.acme.example/{POLICY}/4/",
            policy=f"https://policies.acme.example/{POLICY}/",
            feed=f"https://policies.acme.example/{POLICY}/feed.atom",
        ),
        today=date(2025, 6, 1),
    )
    return render_notice(Templates(settings_for(Path(tempfile.gettempdir()))), context, "notice")


def settings_for(directory: Path):
    from redline.config import Settings
    from redline.env import Environment

    return Settings(
        repo_root=directory,
        from_address=SENDER,
        unsubscribe_url=UNSUBSCRIBE_URL,
        max_send_errors=20,
        env=Environment({"REDLINE_SECRET": SECRET}),
    )


def database(directory: Path) -> str:
    return f"sqlite:///{(directory / 'redline.db').as_posix()}"


def peak_rss_kb() -> int:
    """Peak resident memory of this process in KiB (VmHWM starts afresh at exec; ru_maxrss,
    the fallback off Linux, would include the parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- child processes --------------------------------------------------------------------------


def child_populate(directory: Path, count: int) -> None:
    """Create ``count`` subscribers in the database of ``directory``."""
    from redline.ledger.checks import SubscriberInput
    from redline.ledger.store import Store

    with Store.open(database(directory)) as store:
        for start in range(0, count, 5000):
            store.upsert_subscribers(
                [
                    SubscriberInput(f"reader{i:07d}@example.com", f"Reader {i}")
                    for i in range(start, min(count, start + 5000))
                ]
            )


def child_send(directory: Path, port: int, connections: int) -> None:
    """Run redline's send path once and print what it measured as JSON."""
    from redline.ledger.store import Store
    from redline.mail.send import send_notices
    from redline.mail.settings import SmtpConfig
    from redline.mail.transport import SmtpTransport

    with Store.open(database(directory)) as store:
        transport = SmtpTransport(SmtpConfig("127.0.0.1", port, "none", timeout=30))
        the_notice = notice()
        baseline = peak_rss_kb()
        started = time.perf_counter()
        report = send_notices(
            settings_for(directory),
            store,
            transport,
            the_notice,
            policy=POLICY,
            version=1,
            kind="notice",
            connections=connections,
        )
        seconds = time.perf_counter() - started
    result = {"sent": report.sent, "failed": report.failed, "seconds": seconds}
    print(json.dumps({**result, "baseline_kb": baseline, "peak_kb": peak_rss_kb()}))


# -- the senders ------------------------------------------------------------------------------


def run_child(*args: str) -> str:
    env = {**os.environ, "REDLINE_SECRET": SECRET}
    result = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.exit(f"child {args[0]} failed:\n{result.stderr}")
    return result.stdout


def redline_run(directory: Path, count: int, port: int, connections: int) -> dict[str, float]:
    """One redline run over a fresh database of ``count`` subscribers."""
    directory.mkdir(parents=True)
    run_child("--child-populate", str(directory), str(count))
    result = json.loads(run_child("--child-send", str(directory), str(port), str(connections)))
    if result["sent"] != count or result["failed"]:
        sys.exit(f"redline sent {result['sent']} of {count} ({result['failed']} failed)")
    return result


def smtplib_ceiling(recipients: list[tuple[str, str]], port: int, connections: int) -> float:
    """Messages per second of the same messages over ``connections`` plain smtplib
    connections (one thread each), with no ledger."""
    from redline.ledger.subscribers import unsubscribe_link
    from redline.mail.campaign import CampaignFactory
    from redline.mail.settings import sender_address

    settings = settings_for(Path(tempfile.gettempdir()))
    the_notice = notice()
    work = iter(enumerate(recipients))
    lock = threading.Lock()

    def send_all() -> None:
        factory = CampaignFactory(
            the_notice,
            sender=sender_address(settings),
            policy=POLICY,
            version=1,
            kind="notice",
            unsubscribe=lambda to: unsubscribe_link(settings, to.email, to.subscriber_id),
        )
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                item = next(work, None)
            if item is None:
                break
            number, (email, name) = item
            message = factory.render(email, name, subscriber_id=number)
            smtp.sendmail(message.sender, [message.recipient], message.data)
        smtp.quit()

    threads = [threading.Thread(target=send_all) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(recipients) / (time.perf_counter() - started)


def naive_yagmail(port: int, count: int) -> float:
    """Messages per second of what a newcomer writes: yagmail.SMTP.send() per message."""
    import yagmail

    from redline.publish.notice import UNSUBSCRIBE_PLACEHOLDER

    the_notice = notice()
    yag = yagmail.SMTP(
        user={"legal@acme.example": "Acme Legal"},
        host="127.0.0.1",
        port=port,
        smtp_ssl=False,
        smtp_starttls=False,
        smtp_skip_login=True,
    )
    yag.set_logging(None)
    started = time.perf_counter()
    for i in range(count):
        link = f"https://acme.example/unsubscribe?token=naive{i}"
        yag.send(
            to=f"naive{i:06d}@example.com",
            subject=the_notice.subject,
            contents=[
                the_notice.text.replace(UNSUBSCRIBE_PLACEHOLDER, link),
                the_notice.html.replace(UNSUBSCRIBE_PLACEHOLDER, link),
            ],
        )
    seconds = time.perf_counter() - started
    yag.close()
    return count / seconds


# -- the benchmark ----------------------------------------------------------------------------


class Sink:
    """The counting sink in its own process, answering DATA after ``delay_ms``."""

    def __init__(self, delay_ms: int) -> None:
        sys.path.insert(0, str(SINK.parent))
        from smtp_servers import free_port

        self.delay_ms = delay_ms
        self.port = free_port()
        self.expected = 0
        self.process = subprocess.Popen(
            [sys.executable, str(SINK), str(self.port), str(delay_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.process.stdout is None or self.process.stdout.readline().strip() != "ready":
            sys.exit("the SMTP sink did not start")

    def received(self) -> int:
        """Stop the sink; how many messages it accepted."""
        self.process.stdin.close()  # type: ignore[union-attr]
        count = int(self.process.stdout.read().strip() or 0)  # type: ignore[union-attr]
        self.process.wait(timeout=30)
        return count


def measure(args: argparse.Namespace, sink: Sink, count: int, workdir: Path) -> dict[str, float]:
    """Best msgs/s of each sender against ``sink`` over ``args.rounds`` interleaved rounds."""
    n = args.connections
    recipients = [(f"reader{i:07d}@example.com", f"Reader {i}") for i in range(count)]
    best: dict[str, float] = {}
    rounds = args.rounds if sink.delay_ms == 0 else 1
    for round_ in range(rounds):
        rates = {
            "smtplib 1": smtplib_ceiling(recipients, sink.port, 1),
            f"smtplib {n}": smtplib_ceiling(recipients, sink.port, n),
        }
        for connections in (1, n):
            directory = workdir / f"d{sink.delay_ms}-r{round_}-c{connections}"
            result = redline_run(directory, count, sink.port, connections)
            rates[f"redline {connections}"] = result["sent"] / result["seconds"]
        naive = args.naive if sink.delay_ms == 0 else max(1, args.naive // 10)
        rates["naive"] = naive_yagmail(sink.port, naive)
        sink.expected += 4 * count + naive
        for name, rate in rates.items():
            best[name] = max(best.get(name, 0.0), rate)
        shown = ", ".join(f"{name} {rate:.0f}" for name, rate in best.items())
        print(f"  {sink.delay_ms} ms, round {round_ + 1}: {shown} msgs/s (best so far)", flush=True)
    return best


def report(args: argparse.Namespace, delay: int, count: int, best: dict[str, float]) -> None:
    n = args.connections
    rounds = args.rounds if delay == 0 else 1
    print(f"\nsink answers DATA after {delay} ms; {count} subscribers; best of {rounds}")
    rows = [
        ("smtplib, 1 connection", best["smtplib 1"], None, None),
        (f"smtplib, {n} connections", best[f"smtplib {n}"], None, None),
        ("redline notify, 1 connection", best["redline 1"], best["smtplib 1"], TARGET_ONE),
        (f"redline notify, {n} connections", best[f"redline {n}"], best[f"smtplib {n}"], None),
        ("naive yagmail send() loop", best["naive"], None, None),
    ]
    for label, rate, ceiling, target in rows:
        line = f"  {label:<34} {rate:8.0f} msgs/s"
        if ceiling:
            line += f"   {rate / ceiling:5.2f}x the smtplib ceiling"
            wanted = target or (TARGET_MANY if delay >= 20 else None)
            line += f" (target >= {wanted}x)" if wanted else ""
        print(line)
    print(f"  redline {n} connections / naive yagmail: {best[f'redline {n}'] / best['naive']:.1f}x")


def memory(args: argparse.Namespace, sink: Sink, workdir: Path) -> None:
    sizes = sorted({int(size) for size in args.memory.split(",") if size})
    if args.million:
        sizes.append(1_000_000)
    if len(sizes) < 2:
        return
    peaks = {}
    for size in sizes:
        peaks[size] = redline_run(workdir / f"memory-{size}", size, sink.port, args.connections)
        sink.expected += size
    print(f"\npeak memory (max RSS) of the redline process, {args.connections} connections")
    for size, result in peaks.items():
        growth = (result["peak_kb"] - result["baseline_kb"]) / 1024
        print(
            f"  {size:>9} subscribers  {result['peak_kb'] / 1024:7.1f} MB  "
            f"(+{growth:.1f} MB while sending, {result['sent'] / result['seconds']:.0f} msgs/s)"
        )
    small, large = sizes[0], sizes[-1]
    ratio = peaks[large]["peak_kb"] / peaks[small]["peak_kb"]
    print(f"  {large} vs {small}: {ratio:.2f}x  (target <= {TARGET_MEMORY}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000, help="size at 0 ms")
    parser.add_argument("--delayed", type=int, default=1000, help="size at 20 ms and more")
    parser.add_argument("--delays", default="0,20", help="the sinks' DATA delays (ms)")
    parser.add_argument("--connections", type=int, default=4, help="N of the N-session runs")
    parser.add_argument("--naive", type=int, default=1000, help="messages for naive yagmail")
    parser.add_argument("--memory", default="10000,100000", help="sizes for peak memory")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 to --memory")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds at 0 ms")
    args = parser.parse_args()
    os.environ["REDLINE_SECRET"] = SECRET
    delays = [int(delay) for delay in args.delays.split(",") if delay]
    sinks = {delay: Sink(delay) for delay in delays}
    print(f"SMTP sinks: aiosmtpd in their own processes ({args.delays} ms); ledger: SQLite")
    results = {}
    with tempfile.TemporaryDirectory(prefix="redline-send-bench-") as tmp:
        workdir = Path(tmp)
        for delay, sink in sinks.items():
            count = args.subscribers if delay == 0 else args.delayed
            results[delay] = (count, measure(args, sink, count, workdir))
        memory(args, sinks[min(sinks)], workdir)
    for delay, (count, best) in results.items():
        report(args, delay, count, best)
    for delay, sink in sinks.items():
        received = sink.received()
        print(f"\nsink {delay} ms received {received} messages (expected {sink.expected})")
        if received != sink.expected:
            sys.exit("a sink did not receive every message")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-populate":
        child_populate(Path(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-send":
        child_send(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
