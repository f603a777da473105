//! One error type for every AWS call, classified once, by operation, code and message, so the
//! controllers know what the failure means before they decide what to do about it.

use std::fmt;

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What an AWS failure means. The controllers' reaction (condition, Event, requeue, metric label)
/// follows from this alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AwsErrorKind {
    /// The resource the call is about does not exist (deleted outside the operator, never created).
    /// Only for the resource the operation targets: a create that names a missing subnet is
    /// [`AwsErrorKind::MissingDependency`], so a controller never reads it as "create it".
    NotFound,
    /// A create found the resource already there (or the same name with other parameters).
    AlreadyExists,
    /// The resource is in use and cannot be changed or deleted now (`ResourceInUseException`).
    InUse,
    /// Something the request names does not exist: a cluster, subnet, target group, role, task
    /// definition, capacity provider or Cloud Map namespace. The fix is outside the request.
    MissingDependency,
    /// AWS is still settling an earlier change: a service draining, a service Application Auto
    /// Scaling does not see yet. Waiting and trying again succeeds.
    Pending,
    /// A concurrent change of the same resource won (ECS: "Too many concurrent attempts to create a
    /// new revision of the specified family"): retry with backoff.
    Conflict,
    /// AWS rejected the request as such (invalid parameter, access denied, a quota): the same
    /// request cannot succeed until the spec or the account changes.
    Terminal,
    /// The operator could not build a request from the spec (a required member missing): the spec
    /// must change.
    InvalidRequest,
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
            Self::InUse => "in_use",
            Self::MissingDependency => "missing_dependency",
            Self::Pending => "pending",
            Self::Conflict => "conflict",
            Self::Terminal => "terminal",
            Self::InvalidRequest => "invalid_request",
            Self::Throttled => "throttled",
            Self::Transient => "transient",
        }
    }

    /// Whether the same call may simply be sent again (after a pause) by the AWS layer itself.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled | Self::Transient | Self::Conflict)
    }
}

/// A failed AWS call: its class, the operation, and AWS's own code and message for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct AwsError {
    /// What the failure means.
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
        self.kind.is_retryable()
    }

    /// An error of our own making (no AWS answer), e.g. a request the SDK refused to build.
    pub fn local(kind: AwsErrorKind, operation: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            operation: operation.to_owned(),
            code: None,
            message: message.into(),
        }
    }

    /// Builds an error from an SDK failure of `operation` (`service:Operation`).
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
                (
                    classify(operation, code.as_deref(), &message, status),
                    code,
                    message,
                )
            }
            SdkError::ConstructionFailure(_) => (
                AwsErrorKind::InvalidRequest,
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

/// The operations whose target is the cluster itself (an EcsCluster's writes).
const CLUSTER_TARGETS: [&str; 3] = [
    "DeleteCluster",
    "UpdateCluster",
    "PutClusterCapacityProviders",
];

/// Operations whose "not found" answers are about the resource they target (so NotFound), as
/// opposed to creates and updates, where "not found" is about something the request names.
fn targets_existing_resource(operation: &str) -> bool {
    let name = operation.rsplit(':').next().unwrap_or(operation);
    ["Describe", "Delete", "Deregister", "List", "Untag"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Classifies an ECS or Application Auto Scaling error. `operation` is `service:Operation`; the
/// code alone is ambiguous for ECS's catch-all `ClientException` / `InvalidParameterException` and
/// Application Auto Scaling's `ValidationException`, so their messages decide.
pub fn classify(operation: &str, code: Option<&str>, message: &str, status: u16) -> AwsErrorKind {
    let lower = message.to_ascii_lowercase();
    let op = operation.rsplit(':').next().unwrap_or(operation);
    match code.unwrap_or_default() {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "ProvisionedThroughputExceededException" => AwsErrorKind::Throttled,
        // ECS: "Too many concurrent attempts to create a new revision of the specified family."
        // Two registrations of one family raced (same-named objects in two namespaces share a
        // family by default): the next attempt succeeds.
        "ClientException" if lower.contains("too many concurrent attempts") => {
            AwsErrorKind::Conflict
        }
        "ConcurrentUpdateException" | "ConcurrentModificationException" => AwsErrorKind::Conflict,
        // PutClusterCapacityProviders, UpdateCluster while an earlier change to the cluster's
        // capacity providers is still being applied: the next attempt, a moment later, goes.
        "UpdateInProgressException" => AwsErrorKind::Pending,
        // ECS: "Unable to Start a service that is still Draining." A same-named service is on its
        // way to INACTIVE; CreateService succeeds once it is.
        "InvalidParameterException" | "ClientException" if lower.contains("still draining") => {
            AwsErrorKind::Pending
        }
        // Right after the ECS service-linked role is created (by the first cluster or service
        // of an account), CreateService answers "Unable to assume the service linked role.
        // Please verify that the ECS service linked role exists." until IAM has propagated it
        // (eventual consistency; the AWS reference documents no text for it, the message is the
        // one users report).
        "InvalidParameterException" | "ClientException"
            if lower.contains("unable to assume the service linked role") =>
        {
            AwsErrorKind::Pending
        }
        // "The target group with targetGroupArn ... does not have an associated load balancer.":
        // the listener rule that attaches it is usually being created alongside (one apply of a
        // Helm chart or Terraform plan); it needs no change to the spec.
        "InvalidParameterException" | "ClientException"
            if lower.contains("does not have an associated load balancer") =>
        {
            AwsErrorKind::Pending
        }
        "ServiceNotFoundException" | "ServiceNotActiveException" | "TargetNotFoundException" => {
            AwsErrorKind::NotFound
        }
        // The cluster an EcsCluster's own write targets is gone (deleted outside the operator):
        // the next pass observes it afresh. For every other operation the cluster, like a
        // namespace, is something the request depends on.
        "ClusterNotFoundException" if CLUSTER_TARGETS.contains(&op) => AwsErrorKind::NotFound,
        "ClusterNotFoundException" | "NamespaceNotFoundException" => {
            AwsErrorKind::MissingDependency
        }
        // DeleteCapacityProvider while a service's strategy or a cluster still uses it.
        "ClientException" | "InvalidParameterException"
            if op == "DeleteCapacityProvider"
                && (lower.contains("in use") || lower.contains("associated with")) =>
        {
            AwsErrorKind::InUse
        }
        // DeleteCluster while services drain or tasks stop: the EcsCluster's deletion checks for
        // ACTIVE services and RUNNING tasks first (and reports those as in use), so these
        // refusals are what is already on its way out, and go by themselves.
        "ClusterContainsServicesException" | "ClusterContainsTasksException" => {
            AwsErrorKind::Pending
        }
        // DeleteCluster while instances are registered or capacity providers belong to it.
        "ClusterContainsContainerInstancesException"
        | "ClusterContainsCapacityProviderException" => AwsErrorKind::InUse,
        // Application Auto Scaling: "No scalable target registered for service namespace: ecs,
        // resource ID: ..." (PutScalingPolicy, PutScheduledAction) and "No scalable target found
        // ..." (DeregisterScalableTarget): the target itself is gone.
        // Right after RegisterScalableTarget, a put may not see the new target yet ("there
        // might be a brief delay until the operation achieves eventual consistency").
        _ if lower.contains("no scalable target") && op.starts_with("Put") => AwsErrorKind::Pending,
        _ if lower.contains("no scalable target") => AwsErrorKind::NotFound,
        // A registration with tags repeated after a lost answer: the target is there now.
        "ValidationException"
            if op == "RegisterScalableTarget" && lower.contains("already exists") =>
        {
            AwsErrorKind::Conflict
        }
        "ObjectNotFoundException" | "ResourceNotFoundException" => {
            if targets_existing_resource(operation) || op == "TagResource" {
                AwsErrorKind::NotFound
            } else {
                AwsErrorKind::MissingDependency
            }
        }
        "ResourceInUseException" => AwsErrorKind::InUse,
        "InvalidParameterException" | "ClientException"
            if lower.contains("not idempotent") || lower.contains("already exists") =>
        {
            AwsErrorKind::AlreadyExists
        }
        // Deregistering a revision that is already INACTIVE: the revision is gone as far as the
        // caller is concerned (the reference documents no error for it; this covers one).
        "ClientException" | "InvalidParameterException"
            if op == "DeregisterTaskDefinition" && lower.contains("inactive") =>
        {
            AwsErrorKind::NotFound
        }
        // DescribeTaskDefinition answers exactly this for an unknown revision; any other
        // ClientException of it is not a reason to register again.
        "ClientException" if op == "DescribeTaskDefinition" => {
            if lower.contains("unable to describe task definition") {
                AwsErrorKind::NotFound
            } else {
                AwsErrorKind::Terminal
            }
        }
        // Application Auto Scaling right after CreateService: "ECS service doesn't exist:
        // service/<cluster>/<service>". The ECS service exists (the caller checked), the scaling
        // service does not see it yet: eventual consistency.
        "ValidationException"
            if op == "RegisterScalableTarget"
                && lower.contains("service")
                && is_not_found_message(&lower) =>
        {
            AwsErrorKind::Pending
        }
        "ClientException" | "InvalidParameterException" | "ValidationException"
            if is_not_found_message(&lower) =>
        {
            if targets_existing_resource(operation) {
                AwsErrorKind::NotFound
            } else {
                AwsErrorKind::MissingDependency
            }
        }
        "ServerException"
        | "InternalServiceException"
        | "InternalFailure"
        | "InternalServerError"
        | "ServiceUnavailable"
        | "ServiceUnavailableException" => AwsErrorKind::Transient,
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
        | "InvalidNextTokenException"
        | "TooManyTagsException" => AwsErrorKind::Terminal,
        _ if status == 429 => AwsErrorKind::Throttled,
        _ if status >= 500 => AwsErrorKind::Transient,
        _ if status == 404 => AwsErrorKind::NotFound,
        _ => AwsErrorKind::Terminal,
    }
}

/// ECS and Application Auto Scaling report some missing resources only in the message.
fn is_not_found_message(lower: &str) -> bool {
    [
        "not found",
        "does not exist",
        "doesn't exist",
        "unable to describe task definition",
        "no scaling policy found",
    ]
    .iter()
    .any(|phrase| lower.contains(phrase))
}

/// A delete's result where "not found" is success: what was to be deleted is gone already.
pub fn gone_is_done<T>(result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AwsErrorKind::*;

    fn kind(operation: &str, code: &str, message: &str) -> AwsErrorKind {
        classify(operation, Some(code), message, 400)
    }

    #[test]
    fn throttling_and_server_errors_retry() {
        assert_eq!(
            kind(
                "ecs:DescribeServices",
                "ThrottlingException",
                "Rate exceeded"
            ),
            Throttled
        );
        assert_eq!(
            classify("ecs:CreateService", Some("ServerException"), "", 500),
            Transient
        );
        assert_eq!(classify("ecs:CreateService", None, "", 503), Transient);
        assert_eq!(classify("ecs:CreateService", None, "", 429), Throttled);
    }

    #[test]
    fn concurrent_revision_registration_is_a_conflict_not_terminal() {
        let k = kind(
            "ecs:RegisterTaskDefinition",
            "ClientException",
            "Too many concurrent attempts to create a new revision of the specified family.",
        );
        assert_eq!(k, Conflict);
        assert!(k.is_retryable());
    }

    #[test]
    fn a_missing_cluster_is_gone_for_its_own_writes_and_a_dependency_for_others() {
        let missing = |op| kind(op, "ClusterNotFoundException", "Cluster not found.");
        assert_eq!(missing("ecs:UpdateCluster"), NotFound);
        assert_eq!(missing("ecs:DeleteCluster"), NotFound);
        assert_eq!(missing("ecs:PutClusterCapacityProviders"), NotFound);
        assert_eq!(missing("ecs:CreateService"), MissingDependency);
        assert_eq!(missing("ecs:RunTask"), MissingDependency);
        assert_eq!(
            kind(
                "ecs:PutClusterCapacityProviders",
                "UpdateInProgressException",
                "An update is in progress."
            ),
            Pending
        );
        assert_eq!(
            kind(
                "ecs:DeleteCapacityProvider",
                "ClientException",
                "The specified capacity provider is associated with cluster prod."
            ),
            InUse
        );
        assert_eq!(
            kind(
                "ecs:DeleteCluster",
                "ClusterContainsTasksException",
                "The Cluster cannot be deleted while Tasks are active."
            ),
            Pending
        );
        assert_eq!(
            kind(
                "ecs:DeleteCluster",
                "ClusterContainsContainerInstancesException",
                "The Cluster cannot be deleted while Container Instances are active."
            ),
            InUse
        );
    }

    #[test]
    fn a_draining_service_is_pending() {
        assert_eq!(
            kind(
                "ecs:CreateService",
                "InvalidParameterException",
                "Unable to Start a service that is still Draining."
            ),
            Pending
        );
    }

    #[test]
    fn scaling_target_for_a_service_not_yet_visible_is_pending() {
        assert_eq!(
            kind(
                "application-autoscaling:RegisterScalableTarget",
                "ValidationException",
                "ECS service doesn't exist: service/prod/web"
            ),
            Pending
        );
        assert_eq!(
            kind(
                "application-autoscaling:PutScalingPolicy",
                "ObjectNotFoundException",
                "No scalable target registered for service namespace: ecs, resource ID: service/prod/web, scalable dimension: ecs:service:DesiredCount"
            ),
            Pending,
            "right after registering the target: eventual consistency"
        );
        assert_eq!(
            kind(
                "application-autoscaling:DeregisterScalableTarget",
                "ObjectNotFoundException",
                "No scalable target found for service namespace: ecs, resource ID: service/prod/web, scalable dimension: ecs:service:DesiredCount"
            ),
            NotFound
        );
        assert_eq!(
            kind(
                "application-autoscaling:RegisterScalableTarget",
                "ValidationException",
                "The scalable target that you tried to tag already exists. To update tags on an existing scalable target, use the TagResource API."
            ),
            Conflict
        );
    }

    #[test]
    fn missing_dependencies_are_not_the_resource_missing() {
        for (operation, code, message) in [
            (
                "ecs:CreateService",
                "ClientException",
                "TaskDefinition not found.",
            ),
            (
                "ecs:CreateService",
                "InvalidParameterException",
                "Error retrieving subnet information for [subnet-123]: The subnet ID 'subnet-123' does not exist",
            ),
            (
                "ecs:UpdateService",
                "InvalidParameterException",
                "The target group with targetGroupArn arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1 does not exist.",
            ),
            (
                "ecs:CreateService",
                "ClusterNotFoundException",
                "Cluster not found.",
            ),
            (
                "ecs:DescribeServices",
                "ClusterNotFoundException",
                "Cluster not found.",
            ),
        ] {
            assert_eq!(
                kind(operation, code, message),
                MissingDependency,
                "{message}"
            );
        }
    }

    #[test]
    fn transient_refusals_of_a_new_account_or_load_balancer_are_pending() {
        for message in [
            "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
            "The target group with targetGroupArn arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/97c0 does not have an associated load balancer.",
        ] {
            assert_eq!(
                kind("ecs:CreateService", "InvalidParameterException", message),
                Pending,
                "{message}"
            );
        }
    }

    #[test]
    fn not_found_of_the_target_resource() {
        assert_eq!(
            kind("ecs:UpdateService", "ServiceNotFoundException", ""),
            NotFound
        );
        assert_eq!(
            kind("ecs:UpdateService", "ServiceNotActiveException", ""),
            NotFound
        );
        assert_eq!(
            kind(
                "application-autoscaling:DeleteScalingPolicy",
                "ObjectNotFoundException",
                "No scaling policy found"
            ),
            NotFound
        );
        assert_eq!(
            kind(
                "ecs:DeregisterTaskDefinition",
                "ClientException",
                "The specified task definition does not exist."
            ),
            NotFound
        );
    }

    #[test]
    fn deregistering_an_inactive_revision_is_not_found() {
        assert_eq!(
            kind(
                "ecs:DeregisterTaskDefinition",
                "ClientException",
                "The specified task definition is already INACTIVE."
            ),
            NotFound
        );
    }

    #[test]
    fn resource_in_use_is_not_already_exists() {
        assert_eq!(
            kind(
                "ecs:DeleteCapacityProvider",
                "ResourceInUseException",
                "in use"
            ),
            InUse
        );
        assert_eq!(
            kind(
                "ecs:CreateService",
                "InvalidParameterException",
                "Creation of service was not idempotent."
            ),
            AlreadyExists
        );
    }

    #[test]
    fn describe_task_definition_misses_only_on_its_own_message() {
        assert_eq!(
            kind(
                "ecs:DescribeTaskDefinition",
                "ClientException",
                "Unable to describe task definition."
            ),
            NotFound
        );
        assert_eq!(
            kind(
                "ecs:DescribeTaskDefinition",
                "ClientException",
                "User is not authorized to perform that action on the specified resource."
            ),
            Terminal
        );
    }

    #[test]
    fn rejections_are_terminal() {
        assert_eq!(
            kind("ecs:CreateService", "AccessDeniedException", ""),
            Terminal
        );
        assert_eq!(
            kind(
                "ecs:CreateService",
                "InvalidParameterException",
                "The ARN provided is invalid."
            ),
            Terminal
        );
        assert_eq!(
            kind("ecs:RegisterTaskDefinition", "LimitExceededException", ""),
            Terminal
        );
    }
}
