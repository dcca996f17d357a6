"""The tutorial's approach, as a benchmark contender: a ThreadPoolExecutor downloading each image
with urllib (which follows picsum's redirect) and PUTting it to the local S3 server.

  python3 tutorial.py '{"urls": [...], "concurrency": 16, "putBase": "http://127.0.0.1:PORT/bucket/prefix/", "runs": 3, "cold": false}'

The bench's S3 server lets its unsigned requests through, so this contender skips SigV4: it does less
work than the others.
With "s3": {"endpoint", "bucket", "prefix"} in place of putBase, each image goes through boto3's
put_object instead (signed, as a Python user would store it).
Prints one JSON line: elapsed ms per run, CPU ms per run, peak RSS in KB.
"""
import json
import resource
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def download(url):
    with urllib.request.urlopen(url) as response:
        return response.read(), response.headers.get("Content-Type", "image/jpeg")


def transfer(args):
    url, put_url = args
    body, content_type = download(url)
    request = urllib.request.Request(put_url, data=body, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request) as stored:
        stored.read()
    return len(body)


def boto3_transfer(client, bucket):
    def transfer_one(args):
        url, key = args
        body, content_type = download(url)
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return len(body)

    return transfer_one


def run(options, tag):
    if "s3" in options:
        s3 = options["s3"]
        jobs = [(url, f"{s3['prefix']}{tag}/{index}.jpg") for index, url in enumerate(options["urls"])]
        return timed(options, jobs, boto3_transfer(options["client"], s3["bucket"]))
    jobs = [(url, f"{options['putBase']}{tag}/{index}.jpg") for index, url in enumerate(options["urls"])]
    return timed(options, jobs, transfer)


def timed(options, jobs, transfer):
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=options["concurrency"]) as pool:
        total = sum(pool.map(transfer, jobs))
    return (time.perf_counter() - started) * 1000, total


def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def main():
    options = json.loads(sys.argv[1])
    if "s3" in options:
        import boto3  # Debian's python3-boto3; the client is made (and its code loaded) before the clock
        from botocore.config import Config

        options["client"] = boto3.client(
            "s3",
            endpoint_url=options["s3"]["endpoint"],
            region_name="us-east-1",
            aws_access_key_id=options["s3"]["credentials"]["accessKeyId"],
            aws_secret_access_key=options["s3"]["credentials"]["secretAccessKey"],
            config=Config(s3={"addressing_style": "path"}, max_pool_connections=options["concurrency"]),
        )
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
