"""The tutorial's approach, as a benchmark contender: a ThreadPoolExecutor downloading each image
with urllib (which follows picsum's redirect) and PUTting it to the local S3 server.

  python3 tutorial.py '{"urls": [...], "concurrency": 16, "putBase": "http://127.0.0.1:PORT/bucket/prefix/", "runs": 3, "cold": false}'

s3rver accepts unsigned requests, so this contender skips SigV4: it does less work than the others.
Prints one JSON line: elapsed ms per run, CPU ms per run, peak RSS in KB.
"""
import json
import resource
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def transfer(args):
    url, put_url = args
    with urllib.request.urlopen(url) as response:
        body = response.read()
        content_type = response.headers.get("Content-Type", "image/jpeg")
    request = urllib.request.Request(put_url, data=body, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request) as stored:
        stored.read()
    return len(body)


def run(options, tag):
    jobs = [(url, f"{options['putBase']}{tag}/{index}.jpg") for index, url in enumerate(options["urls"])]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=options["concurrency"]) as pool:
        total = sum(pool.map(transfer, jobs))
    return (time.perf_counter() - started) * 1000, total


def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def main():
    options = json.loads(sys.argv[1])
    # A warm-up batch of the full size, as the Node contenders get; none when measuring cold.
    if not options.get("cold"):
        run(dict(options), "warmup")
    elapsed, cpu, total = [], [], 0
    for attempt in range(options["runs"]):
        before = cpu_ms()
        ms, total = run(options, f"run{attempt}")
        elapsed.append(ms)
        cpu.append(cpu_ms() - before)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"elapsedMs": elapsed, "cpuMs": cpu, "maxRssKb": peak_kb, "bytes": total}))


if __name__ == "__main__":
    main()
