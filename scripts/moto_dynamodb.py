"""moto's DynamoDB API for the test suite, one request at a time.

moto runs a transaction by copying the whole table, applying the writes and, if any condition
fails, putting the copy back. Under its usual threaded server a transaction that fails can so
undo another one that succeeded meanwhile: acknowledged commits would vanish, which real
DynamoDB never does. Serving one request at a time (moto_s3.serve) keeps moto's transactions
atomic.

moto also copies the table once per item of a transaction, not once per transaction: a commit
of 90 segments to a partition of thousands costs seconds. Within one transaction the table is
copied before anything changes, so the copies are equal; the first is reused.

The requests themselves are moto's, unchanged. Usage: python moto_dynamodb.py PORT
"""

import copy
import sys

import moto.dynamodb.models as dynamodb
from moto.dynamodb.models.table import Table

from moto_s3 import serve


class TableCopiedOncePerTransaction:
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    copies = None  # id(table) -> copy, during a transaction

    def deepcopy(self, value, memo=None):
        if self.copies is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in self.copies:
            self.copies[id(value)] = copy.deepcopy(value, memo)
        return self.copies[id(value)]


copier = TableCopiedOncePerTransaction()
dynamodb.copy = copier
transact_write_items = dynamodb.DynamoDBBackend.transact_write_items


def transact_copying_once(self, *args, **kwargs):
    copier.copies = {}
    try:
        return transact_write_items(self, *args, **kwargs)
    finally:
        copier.copies = None


dynamodb.DynamoDBBackend.transact_write_items = transact_copying_once

serve(int(sys.argv[1]))
