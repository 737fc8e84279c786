"""moto's server (S3, and Kinesis for the Kinesis suite) for the test suite, one request at a
time.

moto checks an S3 write's If-Match / If-None-Match condition and then stores the object
without a lock, so under its usual threaded server two conditional writes can both pass
their check: the conformance gate once saw 80 concurrent If-Match increments leave "79" on a
loaded machine. S3 applies each conditional write atomically; serving one request at a time
makes moto do the same. The requests themselves are moto's, unchanged. `serve` is also what
moto_dynamodb.py runs, after its patches.

Usage: python moto_s3.py PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def serve(port):
    """Serves every moto API on 127.0.0.1:port, one request at a time."""
    moto = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def serialized(environ, start_response):
        with one_at_a_time:
            return list(moto(environ, start_response))

    run_simple("127.0.0.1", port, serialized, threaded=True)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
