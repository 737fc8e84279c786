"""SigV4 checked by an agent started with `--auth-keys FILE`: the key in the file works, a
wrong secret, an unknown key id, a stale signature and no signature are refused with the
types Kinesis uses. Runs when SILT_KINESIS_AUTH_KEY_ID and SILT_KINESIS_AUTH_SECRET name a
key of that file (cli/tests/kinesis.rs starts such an agent); skipped otherwise."""

import datetime
import os
import unittest
from unittest import mock

import botocore.auth
from botocore.exceptions import ClientError

from harness import KinesisTest, client, error_code

KEY_ID = os.environ.get("SILT_KINESIS_AUTH_KEY_ID")
SECRET = os.environ.get("SILT_KINESIS_AUTH_SECRET")


@unittest.skipUnless(KEY_ID and SECRET, "needs an agent with --auth-keys (SILT_KINESIS_AUTH_*)")
class Auth(KinesisTest):
    @classmethod
    def setUpClass(cls):
        cls.k = client(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)

    def refused_with(self, code, kinesis):
        with self.assertRaises(ClientError) as caught:
            kinesis.list_streams()
        self.assertEqual(error_code(caught.exception), code, caught.exception.response)

    def test_the_listed_key_is_accepted(self):
        name = self.stream()
        self.k.put_record(StreamName=name, PartitionKey="k", Data=b"signed")
        self.assertIn(name, self.k.list_streams(Limit=100)["StreamNames"])

    def test_wrong_secret(self):
        wrong = client(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET + "x")
        self.refused_with("InvalidSignatureException", wrong)

    def test_unknown_key_id(self):
        unknown = client(aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key=SECRET)
        self.refused_with("UnrecognizedClientException", unknown)

    def test_stale_signature(self):
        stale = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        stale -= datetime.timedelta(minutes=10)
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *_: stale):
            self.refused_with("InvalidSignatureException", self.k)

    def test_unsigned_request(self):
        status, answer = self.raw(b"{}", signed=False)
        self.assertEqual(status, 403, answer)
        self.assertEqual(answer["__type"].split("#")[-1], "MissingAuthenticationTokenException")
