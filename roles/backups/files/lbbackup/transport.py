# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3 through boto3: listings by paginator, streams through boto3's managed transfers
(upload_fileobj / download_fileobj: multipart, parallel ranges, retries, an aborted upload
leaves nothing), with the SHA-256 and size of what passed."""

from __future__ import annotations

import hashlib

from .config import ID_RE, BackupError, id_time

CHUNK = 16 * 1024 * 1024  # multipart part size


def s3_client(cfg):
    import boto3  # only in the image: the unit tests inject a client
    from botocore.config import Config as BotoConfig

    s3 = cfg.s3
    return boto3.client(
        "s3",
        endpoint_url=s3.get("endpoint_url") or None,
        region_name=s3.get("region") or "us-east-1",
        aws_access_key_id=s3.get("access_key"),
        aws_secret_access_key=s3.get("secret_key"),
        verify=s3.get("ca_file") or True,
        config=BotoConfig(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60,
                          s3={"addressing_style": "path" if s3.get("path_style") else "auto"}),
    )


def transfer_config(concurrency=4):
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=CHUNK, multipart_chunksize=CHUNK, max_concurrency=concurrency)


def list_keys(client, bucket, prefix):
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(page.get("Contents", []))
    return keys


def list_backups(client, cfg, database, source=False):
    """Complete logical backups of `database` (those with a manifest), newest first."""
    prefix = cfg.logical_prefix(database, source)
    found = []
    for obj in list_keys(client, cfg.s3["bucket"], prefix):
        name = obj["Key"][len(prefix):]
        if name.endswith(".json") and ID_RE.match(name[:-5]):
            found.append({"id": name[:-5], "key": prefix + name[:-5] + ".dump.gpg", "manifest": obj["Key"],
                          "time": id_time(name[:-5]).isoformat()})
    return sorted(found, key=lambda b: b["id"], reverse=True)


def list_databases_in_bucket(client, cfg, source=False):
    base = "/".join(p for p in ((cfg.source_prefix if source else cfg.prefix), "logical") if p) + "/"
    names = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=cfg.s3["bucket"], Prefix=base, Delimiter="/"):
        names += [p["Prefix"][len(base):].strip("/") for p in page.get("CommonPrefixes", [])]
    return sorted(names)


class HashingReader:
    """A stream read by upload_fileobj, hashed as it goes. At its end `finish()` runs (the
    producers' exit status): an exception there makes boto3 abort the upload."""

    def __init__(self, stream, finish=None):
        self.stream, self.finish = stream, finish
        self.digest, self.size = hashlib.sha256(), 0

    def read(self, size=-1):
        data = self.stream.read(size)
        if data:
            self.digest.update(data)
            self.size += len(data)
        elif self.finish is not None:
            finish, self.finish = self.finish, None
            finish()
        return data


class HashingWriter:
    """download_fileobj writes the object here, in order: hashed, then passed on."""

    def __init__(self, sink):
        self.sink = sink
        self.digest, self.size = hashlib.sha256(), 0

    def write(self, data):
        self.digest.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)


def upload_stream(client, bucket, key, stream, finish=None):
    """Stream into one object; returns (sha256, size). A failure leaves no object."""
    reader = HashingReader(stream, finish)
    try:
        client.upload_fileobj(reader, bucket, key, Config=transfer_config())
    except BaseException:
        try:
            client.delete_object(Bucket=bucket, Key=key)
        except Exception:  # pylint: disable=broad-except
            pass
        raise
    return reader.digest.hexdigest(), reader.size


def download_stream(client, bucket, key, sink):
    """Write one object into `sink`; returns (sha256, size)."""
    writer = HashingWriter(sink)
    try:
        client.download_fileobj(bucket, key, writer, Config=transfer_config())
    except BrokenPipeError:
        raise
    except Exception as exc:  # botocore and s3transfer errors
        raise BackupError("download of %s failed: %s" % (key, exc))
    return writer.digest.hexdigest(), writer.size
