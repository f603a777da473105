//! Pure translation from custom resource specs to AWS requests, with validation and normalisation.
//!
//! Nothing here does I/O and nothing here knows the AWS SDK. Each kind has `validate` (errors with
//! field paths, for what a CRD schema cannot say) and request functions that return the AWS request
//! in the AWS API's own JSON shape, as our own types (what `render` prints and what the content hash
//! covers); the `aws` layer turns them into SDK inputs. `tags` holds the operator's ownership tags.

pub mod capacity_provider;
pub mod cluster;
pub mod described;
pub mod pre_deploy;
pub mod scaling;
pub mod service;
pub mod tags;
pub mod task;
pub mod task_definition;

use std::fmt;

/// One problem with a spec, located by its field path (`spec.containerDefinitions[1].dependsOn[0]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the offending field, starting at `spec`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl FieldError {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in one spec; validation reports them all at once so users fix them in one go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Records a problem at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    /// `Ok(())` when nothing was recorded, so callers can use `?`.
    pub fn into_result(self) -> Result<(), TranslateError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(TranslateError::Invalid(self))
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

/// Why a spec could not be turned into AWS requests. Never retryable: the spec has to change.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// The spec breaks rules AWS would reject it for (or that make no sense).
    #[error("invalid spec: {0}")]
    Invalid(FieldErrors),
    /// A reference could not be resolved from what the caller supplied.
    #[error("{path}: {message}")]
    Unresolved {
        /// Path of the reference.
        path: String,
        /// What is missing.
        message: String,
    },
}

/// The first `bytes` bytes of the SHA-256 of `data`, in hex: the short stable hashes recorded in
/// status and tags (content hashes, applied-member hashes, idempotency tokens).
pub fn short_hash(data: &[u8], bytes: usize) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `value` is an AWS ARN of the given service (`arn:<partition>:<service>:...`).
pub(crate) fn is_arn_of(value: &str, service: &str) -> bool {
    let mut parts = value.splitn(6, ':');
    parts.next() == Some("arn")
        && parts.next().is_some_and(|p| p.starts_with("aws"))
        && parts.next() == Some(service)
        && parts.next().is_some()
        && parts.next().is_some()
        && parts.next().is_some_and(|r| !r.is_empty())
}

/// Whether `name` is usable as an ECS family, container, service or cluster name.
pub(crate) fn is_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks a capacity provider strategy (a service's, a task's or a cluster's default) the way
/// ECS does: each provider once, a base on one provider at most, and a weight above 0 somewhere.
pub(crate) fn validate_strategy(
    strategy: &[crate::api::service::CapacityProviderStrategyItem],
    path: &str,
    errors: &mut FieldErrors,
) {
    for (i, provider) in duplicates(strategy.iter().map(|s| s.capacity_provider.as_str())) {
        errors.push(
            format!("{path}[{i}].capacityProvider"),
            format!("capacity provider {provider:?} is listed twice"),
        );
    }
    let with_base: Vec<usize> = strategy
        .iter()
        .enumerate()
        .filter(|(_, s)| s.base.unwrap_or(0) > 0)
        .map(|(i, _)| i)
        .collect();
    if let Some(second) = with_base.get(1) {
        errors.push(
            format!("{path}[{second}].base"),
            "only one capacity provider of a strategy may set a base",
        );
    }
    if !strategy.is_empty() && strategy.iter().all(|s| s.weight.unwrap_or(0) == 0) {
        errors.push(
            path,
            "at least one capacity provider needs a weight greater than 0",
        );
    }
}

/// Paths of duplicated keys in a list, reported at every repeat after the first.
pub(crate) fn duplicates<'a, I>(items: I) -> Vec<(usize, &'a str)>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .enumerate()
        .filter(|(_, key)| !seen.insert(*key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_recognition() {
        assert!(is_arn_of(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
            "secretsmanager"
        ));
        assert!(is_arn_of(
            "arn:aws-us-gov:ssm:us-gov-west-1:1:parameter/x",
            "ssm"
        ));
        assert!(!is_arn_of("arn:aws:ssm:us-east-1:1:", "ssm"));
        assert!(!is_arn_of("arn:aws:s3:::bucket/key", "ssm"));
        assert!(!is_arn_of("/prod/db", "ssm"));
    }

    #[test]
    fn duplicate_positions() {
        assert_eq!(duplicates(["a", "b", "a", "a"]), vec![(2, "a"), (3, "a")]);
        assert!(duplicates(["a", "b"]).is_empty());
    }
}
