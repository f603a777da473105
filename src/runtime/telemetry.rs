//! Logging set-up: JSON lines for log pipelines or plain text for people, to stderr, with colour
//! only when stderr is a terminal (escape codes in a log store are noise).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
    /// Human-readable lines.
    Plain,
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The level is not a valid filter.
    #[error(
        "--log-level {level:?} is not a valid filter (write e.g. `info` or `info,ecs_operator=debug`): {source}"
    )]
    Filter {
        /// What was given.
        level: String,
        /// The parser's complaint.
        source: tracing_subscriber::filter::ParseError,
    },
    /// A subscriber was already installed.
    #[error("logging was already initialised: {0}")]
    Init(String),
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive list (`info`,
/// `warn,ecs_operator=debug`).
pub fn init(format: LogFormat, level: &str) -> Result<(), TelemetryError> {
    use tracing_subscriber::util::SubscriberInitExt;
    subscriber(
        format,
        level,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    )?
    .try_init()
    .map_err(|e| TelemetryError::Init(e.to_string()))
}

/// The subscriber `init` installs, writing to `writer`. A line logged during a reconcile
/// carries the reconcile span's fields (kind, namespace, object): in JSON as `span`, in plain
/// text as the `reconcile{...}` prefix.
pub fn subscriber<W>(
    format: LogFormat,
    level: &str,
    writer: W,
    ansi: bool,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, TelemetryError>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(level).map_err(|source| TelemetryError::Filter {
        level: level.to_owned(),
        source,
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    Ok(match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Plain => Box::new(builder.with_ansi(ansi).finish()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_in_a_reconcile(format: LogFormat) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = subscriber(format, "info", move || writer.clone(), false).expect("valid");
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "reconcile",
                kind = "service",
                namespace = "team-a",
                object = "web"
            );
            let _entered = span.enter();
            tracing::warn!(operation = "DescribeServices", "AWS call failed");
        });
        String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf-8")
    }

    #[test]
    fn a_line_logged_during_a_reconcile_names_the_namespace_and_object() {
        let json = logged_in_a_reconcile(LogFormat::Json);
        let line: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON line");
        assert_eq!(line["span"]["namespace"], "team-a", "{json}");
        assert_eq!(line["span"]["object"], "web", "{json}");
        assert_eq!(line["span"]["kind"], "service", "{json}");
        assert_eq!(line["message"], "AWS call failed", "{json}");
        let plain = logged_in_a_reconcile(LogFormat::Plain);
        assert!(
            plain.contains("reconcile{kind=\"service\" namespace=\"team-a\" object=\"web\"}"),
            "{plain}"
        );
    }

    #[test]
    fn a_bad_level_names_the_flag() {
        let error = init(LogFormat::Plain, "info,=[").expect_err("invalid");
        assert!(error.to_string().contains("--log-level"), "{error}");
    }
}
