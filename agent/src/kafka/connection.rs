//! One Kafka connection: a reader task takes frames off the socket and starts each request's
//! handler (at most [`KAFKA_IN_FLIGHT_MAX`] at once, so clients may pipeline); the writer
//! sends the answers strictly in request order, as Kafka promises. A frame that cannot be
//! served (too large, truncated, unknown API) ends the connection after the answers to the
//! requests before it; other connections never notice.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;

use kafka_protocol::messages::ApiKey;

use super::dispatch::dispatch;
use super::frame::{FrameError, parse_request, read_frame};
use super::turn::Turn;
use super::{KAFKA_IN_FLIGHT_MAX, KafkaContext};

/// A request being handled: its answer (`None`: none is sent, as for `acks=0`).
type Pending = (
    JoinHandle<Result<Option<Bytes>, FrameError>>,
    OwnedSemaphorePermit,
);

/// Serves one connection until the client closes it, a frame is refused, or the agent stops.
pub(super) async fn serve(context: Arc<KafkaContext>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let (pending, mut answers) = mpsc::channel::<Pending>(KAFKA_IN_FLIGHT_MAX);
    let reader = tokio::spawn(read_requests(context, read, pending, peer));
    while let Some((handler, _permit)) = answers.recv().await {
        let answer = match handler.await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!(%peer, error = %e, "a kafka request handler failed");
                break;
            }
        };
        let written = match answer {
            Ok(Some(bytes)) => write.write_all(&bytes).await.map_err(FrameError::from),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            tracing::info!(%peer, error = %e, "closing a kafka connection");
            break;
        }
    }
    reader.abort();
    let _ = write.shutdown().await;
}

async fn read_requests(
    context: Arc<KafkaContext>,
    mut read: OwnedReadHalf,
    pending: mpsc::Sender<Pending>,
    peer: SocketAddr,
) {
    let slots = Arc::new(Semaphore::new(KAFKA_IN_FLIGHT_MAX));
    let mut stopping = context.stopping.clone();
    let max = context.settings.request_bytes_max;
    let mut last_produce = None;
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let frame = tokio::select! {
            frame = read_frame(&mut read, max) => frame,
            _ = stopping.wait_for(|s| *s) => return,
        };
        let request = match frame.and_then(|f| f.map(parse_request).transpose()) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                // Answered in order like any request: the writer closes the connection there.
                let refused = tokio::spawn(async move { Err(e) });
                let _ = pending.send((refused, permit)).await;
                return;
            }
        };
        let turn = (request.api == ApiKey::Produce).then(|| Turn::after(&mut last_produce));
        let handler = tokio::spawn(dispatch(context.clone(), request, turn, peer));
        if pending.send((handler, permit)).await.is_err() {
            return;
        }
    }
}
