//! One error type for every AWS call, classified so controllers know what to do next.

use std::fmt;

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What kind of failure an AWS call had; this alone decides the controller's reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AwsErrorKind {
    /// The resource does not exist (deleted outside the operator, or never created).
    NotFound,
    /// The resource exists already (a create raced with an earlier one).
    AlreadyExists,
    /// AWS rejected the request as such (invalid parameter, client error, access denied): retrying
    /// the same request cannot help; the spec or the environment must change.
    Terminal,
    /// AWS (or our own limiter) asked us to slow down.
    Throttled,
    /// A 5xx, a timeout or a broken connection: retry with backoff.
    Transient,
}

impl AwsErrorKind {
    /// Label used in metrics and logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::Terminal => "terminal",
            Self::Throttled => "throttled",
            Self::Transient => "transient",
        }
    }
}

/// A failed AWS call: its class, the operation, and AWS's own code and message for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct AwsError {
    /// The class of the failure.
    pub kind: AwsErrorKind,
    /// The operation, e.g. `ecs:RegisterTaskDefinition`.
    pub operation: String,
    /// AWS's error code (`InvalidParameterException`), when AWS answered.
    pub code: Option<String>,
    /// AWS's message, or a description of the transport failure.
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl AwsError {
    /// Whether trying the same call again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, AwsErrorKind::Throttled | AwsErrorKind::Transient)
    }

    /// Builds an error from an SDK failure of `operation`.
    pub fn from_sdk<E>(operation: &str, error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (kind, code, message) = match &error {
            SdkError::ServiceError(context) => {
                let code = context.err().code().map(str::to_owned);
                let message = context
                    .err()
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| DisplayErrorContext(&error).to_string());
                let status = context.raw().status().as_u16();
                (classify(code.as_deref(), &message, status), code, message)
            }
            SdkError::ConstructionFailure(_) => (
                AwsErrorKind::Terminal,
                None,
                DisplayErrorContext(&error).to_string(),
            ),
            // Timeouts, connection failures and unreadable answers: all worth another try.
            _ => (
                AwsErrorKind::Transient,
                None,
                DisplayErrorContext(&error).to_string(),
            ),
        };
        Self {
            kind,
            operation: operation.to_owned(),
            code,
            message,
        }
    }
}

/// Classifies an AWS error code (ECS and Application Auto Scaling) with the HTTP status as fallback.
pub fn classify(code: Option<&str>, message: &str, status: u16) -> AwsErrorKind {
    match code.unwrap_or_default() {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "ProvisionedThroughputExceededException" => AwsErrorKind::Throttled,
        "ServiceNotFoundException"
        | "ClusterNotFoundException"
        | "ObjectNotFoundException"
        | "ResourceNotFoundException"
        | "ServiceNotActiveException"
        | "TargetNotFoundException" => AwsErrorKind::NotFound,
        "ResourceInUseException" | "ServiceAlreadyExistsException" => AwsErrorKind::AlreadyExists,
        "ServerException"
        | "InternalServiceException"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "ConcurrentUpdateException" => AwsErrorKind::Transient,
        "InvalidParameterException" | "ClientException"
            if message.contains("not idempotent") || message.contains("already exists") =>
        {
            AwsErrorKind::AlreadyExists
        }
        "ClientException" | "InvalidParameterException" | "ValidationException"
            if is_not_found_message(message) =>
        {
            AwsErrorKind::NotFound
        }
        "InvalidParameterException"
        | "ClientException"
        | "ValidationException"
        | "AccessDeniedException"
        | "AccessDenied"
        | "UnauthorizedOperation"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "UnsupportedFeatureException"
        | "PlatformUnknownException"
        | "PlatformTaskDefinitionIncompatibilityException"
        | "LimitExceededException"
        | "FailedResourceAccessException"
        | "InvalidNextTokenException" => AwsErrorKind::Terminal,
        _ if status == 429 => AwsErrorKind::Throttled,
        _ if status >= 500 => AwsErrorKind::Transient,
        _ if status == 404 => AwsErrorKind::NotFound,
        _ => AwsErrorKind::Terminal,
    }
}

/// ECS and Application Auto Scaling report some missing resources only in the message.
fn is_not_found_message(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "not found",
        "does not exist",
        "doesn't exist",
        "no scalable target found",
        "no scaling policy found",
        "unable to describe task definition",
    ]
    .iter()
    .any(|phrase| lower.contains(phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_classify() {
        assert_eq!(
            classify(Some("ThrottlingException"), "Rate exceeded", 400),
            AwsErrorKind::Throttled
        );
        assert_eq!(
            classify(Some("ServiceNotFoundException"), "", 400),
            AwsErrorKind::NotFound
        );
        assert_eq!(
            classify(
                Some("ClientException"),
                "Unable to describe task definition.",
                400
            ),
            AwsErrorKind::NotFound
        );
        assert_eq!(
            classify(
                Some("InvalidParameterException"),
                "The ARN provided is invalid.",
                400
            ),
            AwsErrorKind::Terminal
        );
        assert_eq!(
            classify(
                Some("ValidationException"),
                "No scalable target found for service namespace: ecs",
                400
            ),
            AwsErrorKind::NotFound
        );
        assert_eq!(
            classify(
                Some("InvalidParameterException"),
                "Creation of service was not idempotent.",
                400
            ),
            AwsErrorKind::AlreadyExists
        );
        assert_eq!(
            classify(Some("ServerException"), "", 500),
            AwsErrorKind::Transient
        );
        assert_eq!(classify(None, "", 503), AwsErrorKind::Transient);
        assert_eq!(classify(None, "", 429), AwsErrorKind::Throttled);
        assert_eq!(
            classify(Some("AccessDeniedException"), "", 400),
            AwsErrorKind::Terminal
        );
    }

    #[test]
    fn only_throttling_and_transient_retry() {
        let error = |kind| AwsError {
            kind,
            operation: "ecs:X".into(),
            code: None,
            message: String::new(),
        };
        assert!(error(AwsErrorKind::Throttled).is_retryable());
        assert!(error(AwsErrorKind::Transient).is_retryable());
        assert!(!error(AwsErrorKind::Terminal).is_retryable());
        assert!(!error(AwsErrorKind::NotFound).is_retryable());
    }
}
