"""The Kafka client suite: confluent-kafka, kafka-python and kcat against silt's agents.
cli/tests/kafka.rs runs one module per test case:

    SILT_KAFKA_BOOTSTRAP=127.0.0.1:P1,127.0.0.1:P2 SILT_KAFKA_HTTP=http://127.0.0.1:P \\
        python suite.py NAMES

NAMES are unittest names (`clients_test`, `groups_test.Groups`). The last line of the output
is `kafka NAMES: N tests[, K skipped]`, each skip with its reason above it.
"""

import faulthandler
import os
import sys
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


# Longer than any case may take (each wait is bounded by harness.PATIENCE): a client call
# that never returns shows every thread's stack and fails the run instead of hanging it.
HANG_LIMIT_S = 300


def main(names):
    faulthandler.dump_traceback_later(HANG_LIMIT_S, exit=True)
    suite = unittest.TestLoader().loadTestsFromNames(names)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    for test, reason in result.skipped:
        print(f"skipped {test.id()}: {reason}")
    skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
    print(f"kafka {' '.join(names)}: {result.testsRun} tests{skipped}")
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
