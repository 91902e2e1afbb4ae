//! Log lines, human-readable or JSON, on standard error. A line written while serving a
//! request names the request's id, taken from the request's context when the line is
//! written: no span is made for each request and entered and left at each of its polls,
//! which cost more than everything else the edge does.
//!
//! Lines are gathered in memory and written by a thread of their own, every
//! [`GATHER`] while lines keep coming: a request never waits on a `write(2)`, nor on the
//! lock of another request's, nor wakes the writer. Written one by one, the access lines cost
//! a system call per request and, with two workers logging at once, a sleep on standard
//! error's lock; a writer woken for each batch cost two context switches per batch, which on
//! a loaded server came close to one per request. The writer sleeps for good once a
//! [`GATHER`] brings nothing, and the first line after that wakes it.

use std::fmt;
use std::io::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{
    FmtContext, FormatEvent, FormatFields, MakeWriter, SubscriberBuilder,
};
use tracing_subscriber::registry::LookupSpan;

use super::context::with_request_id;
use crate::config::LogFormat;

/// Logs to standard error, filtered by `RUST_LOG` (default: `info`, with the SQL drivers'
/// own lines from `warn` up).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Batched);
    let _ = match format {
        LogFormat::Text => builder.fmt_fields(TextFields::default()).try_init(),
        LogFormat::Json => json(builder).try_init(),
    };
}

/// `builder` writing one flat JSON object per line, with the request id.
fn json<F, W>(
    builder: SubscriberBuilder<DefaultFields, Format, F, W>,
) -> SubscriberBuilder<JsonFields, JsonLine<Format<Json>>, F, W>
where
    W: for<'writer> MakeWriter<'writer> + 'static,
{
    builder
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .map_event_format(|json| JsonLine { inner: json })
}

/// How often the writer writes while lines keep coming: the longest a line waits, and what
/// a busy server pays in wake-ups (20 a second, whatever its rate of requests).
const GATHER: Duration = Duration::from_millis(50);

/// Lines held at most; beyond, the thread logging writes them itself (standard error is
/// not being read, say).
const MAX_PENDING_BYTES: usize = 4 << 20;

/// Lines not yet written, and the thread that writes them.
struct Batches {
    pending: Mutex<Vec<u8>>,
    /// Set while the writer waits for lines; the line that finds it set wakes the writer.
    idle: AtomicBool,
    /// Signalled when a line arrives for an idle writer.
    arrived: Condvar,
    /// Held while a batch is written, so that batches go out in order.
    output: Mutex<()>,
}

fn batches() -> &'static Batches {
    static BATCHES: OnceLock<Batches> = OnceLock::new();
    BATCHES.get_or_init(|| {
        let started = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(write_batches);
        if let Err(e) = started {
            // Every line then waits for MAX_PENDING_BYTES of company; say so at once.
            let _ = writeln!(io::stderr(), "log lines are written late: {e}");
        }
        Batches {
            pending: Mutex::new(Vec::with_capacity(64 << 10)),
            idle: AtomicBool::new(false),
            arrived: Condvar::new(),
            output: Mutex::new(()),
        }
    })
}

/// A poisoned lock only means a thread panicked while holding it: the bytes are intact.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_batches() {
    let batches = batches();
    loop {
        let mut pending = lock(&batches.pending);
        while pending.is_empty() {
            // Set under the lock: a line added after this check finds the flag set.
            batches.idle.store(true, Ordering::SeqCst);
            pending = batches
                .arrived
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        batches.idle.store(false, Ordering::SeqCst);
        drop(pending);
        loop {
            std::thread::sleep(GATHER);
            if !write_pending() {
                break;
            }
        }
    }
}

/// Writes every line logged so far. `main` calls it before the process ends.
pub fn flush() {
    write_pending();
}

/// Writes the lines waiting, if any; says whether there were.
fn write_pending() -> bool {
    let batches = batches();
    let _output = lock(&batches.output);
    let batch = std::mem::take(&mut *lock(&batches.pending));
    if batch.is_empty() {
        return false;
    }
    let _ = io::stderr().write_all(&batch);
    true
}

/// Standard error, written in batches.
struct Batched;

impl io::Write for Batched {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let batches = batches();
        let mut pending = lock(&batches.pending);
        pending.extend_from_slice(line);
        let full = pending.len() >= MAX_PENDING_BYTES;
        drop(pending);
        if full {
            write_pending();
        } else if batches.idle.load(Ordering::SeqCst) && batches.idle.swap(false, Ordering::SeqCst)
        {
            batches.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Human-readable fields, followed by `request_id=…` while serving a request.
#[derive(Default)]
pub struct TextFields {
    inner: DefaultFields,
}

/// The field every line of a request carries.
const REQUEST_ID_FIELD: &str = "request_id";

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut named = NamesRequestId(false);
        fields.record(&mut named);
        self.inner.format_fields(writer.by_ref(), fields)?;
        if named.0 {
            return Ok(());
        }
        with_request_id(|id| write!(writer, " {REQUEST_ID_FIELD}={id}")).unwrap_or(Ok(()))
    }
}

/// Whether the fields recorded include a `request_id`.
struct NamesRequestId(bool);

impl Visit for NamesRequestId {
    fn record_debug(&mut self, field: &Field, _: &dyn fmt::Debug) {
        self.0 |= field.name() == REQUEST_ID_FIELD;
    }
}

/// One JSON object per line, with `request_id` while serving a request (unless the event
/// names one itself, as the access line does).
pub struct JsonLine<F> {
    inner: F,
}

impl<S, N, F> FormatEvent<S, N> for JsonLine<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let named = event.metadata().fields().field(REQUEST_ID_FIELD).is_some();
        let id = if named {
            None
        } else {
            with_request_id(str::to_owned)
        };
        let Some(id) = id else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&with_field(&line, REQUEST_ID_FIELD, &id))
    }
}

/// `line` (one JSON object and a newline) with one more string field at its end.
fn with_field(line: &str, name: &str, value: &str) -> String {
    let object = line.trim_end();
    let Some(open) = object.strip_suffix('}') else {
        return line.to_owned();
    };
    let comma = if open.trim_end().ends_with('{') {
        ""
    } else {
        ","
    };
    // Ids are printable ASCII, quotes and backslashes included: escaped like any string.
    let value = serde_json::Value::from(value);
    format!("{open}{comma}\"{name}\":{value}}}\n")
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::{HeaderMap, HeaderValue};
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::edge::context::{RequestContext, REQUEST_ID};

    /// Lines written, shared with the subscriber that writes them.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    impl Lines {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn context(id: &str) -> Arc<RequestContext> {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_str(id).unwrap());
        Arc::new(RequestContext::from_headers(&headers))
    }

    /// Logs one line outside any request, one inside request `id`, and one inside it that
    /// names a request id itself.
    fn log_three(id: &str) {
        tracing::warn!(attempt = 1, "outside");
        context(id).sync_scope(|| {
            tracing::warn!(attempt = 2, "inside");
            tracing::warn!(request_id = "named", "naming");
        });
    }

    #[test]
    fn json_lines_written_while_serving_a_request_carry_its_id() {
        let lines = Lines::default();
        let subscriber = json(tracing_subscriber::fmt().with_writer(lines.clone())).finish();
        tracing::subscriber::with_default(subscriber, || log_three(r#"id-with-"quote"\"#));
        let records: Vec<serde_json::Value> = lines
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(records.len(), 3, "{records:?}");
        assert_eq!(records[0]["message"], "outside");
        assert!(records[0].get("request_id").is_none(), "{}", records[0]);
        assert_eq!(records[1]["message"], "inside");
        assert_eq!(records[1]["attempt"], 2);
        assert_eq!(records[1]["request_id"], r#"id-with-"quote"\"#);
        assert_eq!(records[2]["request_id"], "named");
    }

    #[test]
    fn text_lines_written_while_serving_a_request_end_with_its_id() {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .with_ansi(false)
            .fmt_fields(TextFields::default())
            .finish();
        tracing::subscriber::with_default(subscriber, || log_three("req-42"));
        let text = lines.text();
        let found: Vec<&str> = text.lines().collect();
        assert_eq!(found.len(), 3, "{text}");
        assert!(found[0].ends_with("outside attempt=1"), "{text}");
        assert!(
            found[1].ends_with("inside attempt=2 request_id=req-42"),
            "{text}"
        );
        assert!(found[2].ends_with("naming request_id=\"named\""), "{text}");
    }

    #[test]
    fn a_field_is_added_to_an_empty_object_and_to_a_full_one() {
        assert_eq!(with_field("{}\n", "a", "b"), "{\"a\":\"b\"}\n");
        assert_eq!(
            with_field("{\"x\":1}\n", "a", "b"),
            "{\"x\":1,\"a\":\"b\"}\n"
        );
        assert_eq!(with_field("not json\n", "a", "b"), "not json\n");
    }
}
