"""The lab's S3 endpoint: moto's server, with one change so that it serves ranged reads as S3 does.

moto 5.2.5 answers a ranged GET (`Range: bytes=A-B`, what boto3's managed download sends for
every part) by reading the whole object from its buffer and slicing it: a 300 MB object read in
16 MB parts costs moto 4.8 CPU-seconds (one plain GET: 0.3 s), on the same cores as the
restore it serves. Real S3 reads only the range. Here a simple range (`bytes=A-B` or `bytes=A-`)
reads only its bytes; every other request is moto's own.
"""

import re
import threading

from moto.s3 import models, responses
from moto.server import main

_SIMPLE_RANGE = re.compile(r"^bytes=\d+-\d*$")
_LOCAL = threading.local()


class RangeReader:
    """An object's content, read only where it is sliced (moto slices it once, by the range)."""

    def __init__(self, key):
        self.key = key

    def __len__(self):
        return self.key.size

    def __getitem__(self, part):
        start, stop, _step = part.indices(len(self))
        with self.key.lock:
            buffer = self.key._value_buffer  # pylint: disable=protected-access
            buffer.seek(start)
            return buffer.read(max(0, stop - start))


_VALUE = models.FakeKey.value


def _value(key):
    return RangeReader(key) if getattr(_LOCAL, "ranged", False) else _VALUE.fget(key)


_KEY_RESPONSE = responses.S3Response.key_response


def _key_response(self, request, full_url, headers):
    _LOCAL.ranged = request.method == "GET" and bool(_SIMPLE_RANGE.match(request.headers.get("range") or ""))
    try:
        status, out_headers, body = _KEY_RESPONSE(self, request, full_url, headers)
    finally:
        _LOCAL.ranged = False
    if isinstance(body, RangeReader):  # a range moto answered whole (past the end, say): the bytes
        body = body[0:len(body)]
    return status, out_headers, body


models.FakeKey.value = property(_value, _VALUE.fset)
responses.S3Response.key_response = _key_response

if __name__ == "__main__":
    main()
