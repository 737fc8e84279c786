//! An idempotent producer's retries, sent by hand so the retry is certain: the very same batch
//! (producer id, epoch, sequences) sent again — to the same agent and through the other one,
//! as a client does after a lost answer or a dead agent — is answered with its original
//! offsets (or DUPLICATE_SEQUENCE_NUMBER) and written once; a batch past a gap is
//! OUT_OF_ORDER_SEQUENCE_NUMBER and written not at all.

use super::batch::{Producer, batch, init_producer_id, produce};
use super::cluster::create_topic;
use super::cluster::ledger::read_partition;
use super::wire::{Conn, DUPLICATE_SEQUENCE_NUMBER, OUT_OF_ORDER_SEQUENCE_NUMBER};
use super::{kafka_addr, shared};

const TS: i64 = 1_700_000_000_000;

/// Sends `values` as a retry of a batch first written at `base`: it must not be written again.
fn assert_duplicate(conn: &mut Conn, topic: &str, producer: Producer, values: &[&str], base: i64) {
    let again = produce(conn, topic, 0, &batch(producer, values, TS));
    match again.error {
        0 => assert_eq!(again.base_offset, base, "a retry answered with its offsets"),
        DUPLICATE_SEQUENCE_NUMBER => {}
        _ => panic!("a retry of the batch at {base}: {again:?}"),
    }
}

#[test]
fn idempotent_batch_sent_again_is_written_once() {
    let Some(pair) = shared("retries") else {
        return;
    };
    let topic = "idempotent-retries";
    create_topic(&pair.a, topic, 1);
    let mut a = Conn::open(kafka_addr(&pair.a));
    let mut b = Conn::open(kafka_addr(&pair.b));
    let (id, epoch) = init_producer_id(&mut a);
    let at = |first_seq| Producer {
        id,
        epoch,
        first_seq,
    };
    let first = ["s0", "s1", "s2"];
    let written = produce(&mut a, topic, 0, &batch(at(0), &first, TS));
    assert_eq!((written.error, written.base_offset), (0, 0), "{written:?}");
    assert_duplicate(&mut a, topic, at(0), &first, 0);
    assert_duplicate(&mut b, topic, at(0), &first, 0);

    let second = ["s3", "s4"];
    let written = produce(&mut b, topic, 0, &batch(at(3), &second, TS));
    assert_eq!((written.error, written.base_offset), (0, 3), "{written:?}");
    assert_duplicate(&mut a, topic, at(3), &second, 3);
    assert_duplicate(&mut a, topic, at(0), &first, 0);

    let gap = produce(&mut a, topic, 0, &batch(at(9), &["s9"], TS));
    assert_eq!(gap.error, OUT_OF_ORDER_SEQUENCE_NUMBER, "{gap:?}");

    let log: Vec<String> = read_partition(&pair.a, topic, 0)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(log, ["s0", "s1", "s2", "s3", "s4"], "each record once");
}
