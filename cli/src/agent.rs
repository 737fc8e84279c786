//! `silt agent`: serves the HTTP API of `silt-agent` on a TCP port until SIGTERM or SIGINT,
//! then stops accepting, answers every request in flight, flushes what was accepted, and
//! exits 0. A second signal exits at once.

use std::sync::Arc;
use std::time::Duration;

use clap::Args as ClapArgs;
use silt_agent::{AccessKeys, AuthTokens, HttpSettings, LogService, check_listen, router, serve};
use silt_core::store::Storage;
use silt_writer::WriterSettings;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::CliResult;
use crate::agent_kafka as kafka;
use crate::out::outln;
use crate::signals::{self, Signals};

/// Listens for SIGINT and SIGTERM ([`signals::listen`]) the way the agent answers them.
pub(crate) fn listen() -> std::io::Result<Signals> {
    signals::listen(
        "stopped accepting requests; answering those in flight",
        "answering the requests in flight",
    )
}

/// `silt agent`: the HTTP front door over the store.
#[derive(Debug, ClapArgs)]
pub(crate) struct AgentArgs {
    /// Address to listen on; port 0 picks a free one (printed on the first line of stdout).
    /// Only a loopback address without --auth-tokens, --auth-keys or --insecure-no-auth.
    #[arg(long, env = "SILT_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// File of bearer tokens, one per line (at least 16 characters each); requests must send
    /// `Authorization: Bearer <token>`.
    #[arg(long, env = "SILT_AUTH_TOKENS")]
    pub(crate) auth_tokens: Option<std::path::PathBuf>,
    /// File of access keys for the Kinesis API, one `ACCESS_KEY_ID SECRET_ACCESS_KEY` pair per
    /// line: Kinesis requests must then be signed (SigV4) with one of them.
    #[arg(long, env = "SILT_AUTH_KEYS")]
    pub(crate) auth_keys: Option<std::path::PathBuf>,
    /// Serve without authentication on a non-loopback address (a trusted network only).
    #[arg(long)]
    pub(crate) insecure_no_auth: bool,
    /// How long a record waits for more before its segment is written.
    #[arg(long, default_value_t = 10)]
    pub(crate) linger_ms: u64,
    /// Adaptive linger: how much longer a batch may be held when records arrive fast enough
    /// to grow it by a quarter segment meanwhile (0: never).
    #[arg(long, default_value_t = 50)]
    pub(crate) linger_budget_ms: u64,
    /// A segment is written once its records reach this many bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    pub(crate) segment_bytes: usize,
    /// One object per partition per flush, instead of mixed objects (the default: the batches
    /// of all partitions ready go into one object per flush, each partition committing its
    /// range, docs/design.md §19).
    #[arg(long)]
    pub(crate) per_partition_objects: bool,
    /// Record bytes accepted but not yet committed, across partitions; appends wait beyond it.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub(crate) inflight_bytes: usize,
    /// Bytes of the segments this agent just uploaded kept in memory, so its consumers at the
    /// tail read them without a GET (0: none).
    #[arg(long, default_value_t = silt_core::store::TAIL_CACHE_BYTES)]
    pub(crate) tail_cache_bytes: u64,
    /// Requests served at once; past it, 429.
    #[arg(long, default_value_t = 1024)]
    pub(crate) max_requests: usize,
    /// On SIGTERM or SIGINT, how long requests in flight may take before the agent flushes
    /// and exits anyway.
    #[arg(long, default_value_t = 30_000)]
    pub(crate) grace_ms: u64,
    /// Longest a client may take to send a request body; past it, 408.
    #[arg(long, default_value_t = 30_000)]
    pub(crate) body_timeout_ms: u64,
    /// Consumer-group members this agent holds for HTTP clients (`POST
    /// /v1/groups/{g}/members`); past it, 503. 0 serves none.
    #[arg(long, default_value_t = silt_agent::GROUP_MEMBERS_MAX)]
    pub(crate) max_group_members: usize,
    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,
}

/// The Kafka listener's options (docs/kafka.md).
#[derive(Debug, ClapArgs)]
pub(crate) struct KafkaArgs {
    /// Also serve the Kafka protocol on this address (port 0 picks one, printed on the second
    /// line of stdout). It has no authentication (SASL) yet: only a loopback address unless
    /// --insecure-no-auth.
    #[arg(long, env = "SILT_KAFKA_LISTEN")]
    pub(crate) kafka_listen: Option<std::net::SocketAddr>,
    /// HOST:PORT Kafka clients are told to connect to (default: the address listened on). Give
    /// an IPv4 address or a name clients resolve: some resolve `localhost` to ::1.
    #[arg(long, env = "SILT_KAFKA_ADVERTISE")]
    pub(crate) kafka_advertise: Option<String>,
    /// Create a topic a Kafka client produces to or asks metadata for, with this many
    /// partitions, when it does not exist. Off by default.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=silt_core::limits::PARTITIONS_MAX as i64))]
    pub(crate) auto_create_topics: Option<u32>,
    /// The largest Kafka request frame read; a larger one closes its connection unread.
    #[arg(long, default_value_t = silt_agent::kafka::KAFKA_REQUEST_BYTES_MAX)]
    pub(crate) kafka_request_bytes_max: usize,
}

pub(crate) async fn run(storage: Storage, args: AgentArgs, signals: Option<Signals>) -> CliResult {
    let mut signals = match signals {
        Some(signals) => signals,
        None => listen()?,
    };
    let auth = args
        .auth_tokens
        .as_deref()
        .map(AuthTokens::read)
        .transpose()?;
    let access_keys = args
        .auth_keys
        .as_deref()
        .map(AccessKeys::read)
        .transpose()?;
    let authenticated = auth.is_some() || access_keys.is_some();
    check_listen(args.listen, authenticated, args.insecure_no_auth)?;
    let writer = WriterSettings {
        linger_ms: args.linger_ms,
        linger_budget_ms: args.linger_budget_ms,
        segment_bytes_max: args.segment_bytes,
        inflight_bytes_max: args.inflight_bytes,
        mixed: !args.per_partition_objects,
        ..WriterSettings::default()
    };
    let storage = storage.with_tail_cache(args.tail_cache_bytes);
    let service =
        Arc::new(LogService::new(storage, writer)?.with_group_members_max(args.max_group_members));
    let settings = HttpSettings {
        auth,
        access_keys,
        concurrent_requests_max: args.max_requests,
        body_timeout: Duration::from_millis(args.body_timeout_ms),
        metrics: Some(silt_agent::metrics::install()?),
    };
    let listener = TcpListener::bind(args.listen).await?;
    outln!("listening on http://{}", listener.local_addr()?)?;
    let (stop, stopped) = watch::channel(false);
    let stopping = service.clone();
    tokio::spawn(async move {
        // An error means the signal task is gone: then only a kill stops the agent.
        let _ = signals.wait_for(Option::is_some).await;
        stopping.stop_waiting();
        let _ = stop.send(true);
    });
    let grace = Duration::from_millis(args.grace_ms);
    let kafka = match &args.kafka.kafka_listen {
        Some(addr) => Some(
            kafka::start(
                &args.kafka,
                *addr,
                args.insecure_no_auth,
                &service,
                &stopped,
                grace,
            )
            .await?,
        ),
        None => None,
    };
    let http = router(service.clone(), settings);
    serve(listener, http, wait_until_true(stopped), grace).await;
    if let Some(kafka) = kafka {
        let _ = kafka.await;
    }
    service.close().await;
    tracing::info!("agent stopped");
    Ok(())
}

/// Resolves once `flag` turns true (or its sender is gone).
pub(crate) async fn wait_until_true(mut flag: watch::Receiver<bool>) {
    let _ = flag.wait_for(|v| *v).await;
}
