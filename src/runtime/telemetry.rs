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
    let filter = EnvFilter::try_new(level).map_err(|source| TelemetryError::Filter {
        level: level.to_owned(),
        source,
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Plain => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    result.map_err(|e| TelemetryError::Init(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_level_names_the_flag() {
        let error = init(LogFormat::Plain, "info,=[").expect_err("invalid");
        assert!(error.to_string().contains("--log-level"), "{error}");
    }
}
