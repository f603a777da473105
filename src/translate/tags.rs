//! The tags by which the operator recognises what it created, so a restart (or a crash between a
//! create and the status write) finds its own resources instead of creating them twice. They are
//! the operator's: user tag edits never add, change or remove keys under [`OPERATOR_PREFIX`].

use crate::api::common::Tag;

/// Prefix of every tag key the operator writes.
pub const OPERATOR_PREFIX: &str = "ecs.operator.dev/";
/// Tag holding the UID of the Kubernetes object that owns the AWS resource.
pub const OWNER_UID: &str = "ecs.operator.dev/owner-uid";
/// Tag holding the content hash of a task definition revision.
pub const CONTENT_HASH: &str = "ecs.operator.dev/content-hash";
/// Tag holding `namespace/name` of the owner, for people reading the AWS console.
pub const OWNER: &str = "ecs.operator.dev/owner";

/// Value of the adopt annotation that takes over only what an object of the same namespace and
/// name created (its owner tag says so), e.g. in another Kubernetes cluster: the operator's
/// `--adopt-same-owner` gives every object this value unless it says otherwise.
pub const ADOPT_SAME_OWNER: &str = "same-owner";

/// Which AWS resources an object may take over that it did not create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Adoption {
    /// None (no adopt annotation): an existing resource of that name is refused.
    #[default]
    Never,
    /// Any free one (`ecs.operator.dev/adopt: "true"`).
    Any,
    /// Only one whose owner tag names this `namespace/name` (`ecs.operator.dev/adopt:
    /// same-owner`, or `--adopt-same-owner`): the object's earlier life in another cluster, or
    /// before a backup restore, never a resource made by hand or by another object.
    SameOwner(String),
}

impl Adoption {
    /// The adoption the adopt annotation's `value` asks for, for the object `namespace/name`.
    pub fn from_annotation(value: Option<&str>, namespace: &str, name: &str) -> Self {
        match value.map(str::trim) {
            Some("true") => Self::Any,
            Some(ADOPT_SAME_OWNER) => Self::SameOwner(format!("{namespace}/{name}")),
            _ => Self::Never,
        }
    }

    /// Whether a resource whose owner tag is `owner_tag` may be taken over.
    pub fn allows(&self, owner_tag: Option<&str>) -> bool {
        match self {
            Self::Never => false,
            Self::Any => true,
            Self::SameOwner(owner) => owner_tag == Some(owner.as_str()),
        }
    }

    /// Whether the object asks for any adoption.
    pub fn is_on(&self) -> bool {
        !matches!(self, Self::Never)
    }
}

/// ECS allows 50 tags per resource ("Maximum number of tags per resource - 50").
pub const AWS_MAX_TAGS: usize = 50;
/// The most tags the operator adds to one resource (owner UID, owner, content hash).
pub const OPERATOR_TAGS: usize = 3;
/// The most tags a spec may ask for, leaving room for the operator's own.
pub const MAX_USER_TAGS: usize = AWS_MAX_TAGS - OPERATOR_TAGS;

/// The ownership tags of an object (plus the content hash for task definitions).
pub fn ownership(uid: &str, namespace: &str, name: &str, content_hash: Option<&str>) -> Vec<Tag> {
    let mut tags = vec![
        Tag {
            key: OWNER_UID.into(),
            value: Some(uid.into()),
        },
        Tag {
            key: OWNER.into(),
            value: Some(format!("{namespace}/{name}")),
        },
    ];
    if let Some(hash) = content_hash {
        tags.push(Tag {
            key: CONTENT_HASH.into(),
            value: Some(hash.into()),
        });
    }
    tags
}

/// The value of `key` among `tags`.
pub fn value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key == key)
        .and_then(|t| t.value.as_deref())
}

/// Whether `tags` mark a resource as owned by the object with `uid`.
pub fn is_owned_by(tags: &[Tag], uid: &str) -> bool {
    value(tags, OWNER_UID) == Some(uid)
}

/// Whether `key` is one of the operator's own keys (never touched by user tag changes).
pub fn is_operator_key(key: &str) -> bool {
    key.starts_with(OPERATOR_PREFIX)
}

/// Whether `key` is reserved by AWS ("Do not use `aws:`, `AWS:`, or any upper or lowercase
/// combination of such as a prefix").
pub fn is_aws_reserved(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// Checks user tags: no duplicate keys, none of the operator's or AWS's reserved keys, and room
/// left for the operator's own tags.
pub fn validate(tags: &[Tag], path: &str, errors: &mut super::FieldErrors) {
    if tags.len() > MAX_USER_TAGS {
        errors.push(
            path,
            format!(
                "{} tags: at most {MAX_USER_TAGS}, since ECS allows {AWS_MAX_TAGS} per resource and the operator adds {OPERATOR_TAGS}",
                tags.len()
            ),
        );
    }
    for (i, key) in super::duplicates(tags.iter().map(|t| t.key.as_str())) {
        errors.push(
            format!("{path}[{i}].key"),
            format!("duplicate tag key {key:?}"),
        );
    }
    for (i, tag) in tags.iter().enumerate() {
        if is_operator_key(&tag.key) {
            errors.push(
                format!("{path}[{i}].key"),
                format!("{:?}: keys starting with {OPERATOR_PREFIX} are the operator's own; use another key", tag.key),
            );
        } else if is_aws_reserved(&tag.key) {
            errors.push(
                format!("{path}[{i}].key"),
                format!(
                    "{:?}: the aws: prefix is reserved by AWS; use another key",
                    tag.key
                ),
            );
        }
    }
}

/// The TagResource / UntagResource calls that turn a resource's tags `observed` into the user's
/// `desired` tags, leaving the operator's own keys (and AWS's) alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagChange {
    /// Tags to add or overwrite (TagResource).
    pub set: Vec<Tag>,
    /// Keys to remove (UntagResource).
    pub remove: Vec<String>,
}

impl TagChange {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// [`diff`], plus the operator's `owner` tags wherever the resource lacks them (a resource
/// adopted, or tagged by hand since).
pub fn diff_with_owner(desired: &[Tag], owner: &[Tag], observed: &[Tag]) -> TagChange {
    let mut change = diff(desired, observed);
    change.set.extend(
        owner
            .iter()
            .filter(|t| {
                !observed
                    .iter()
                    .any(|o| o.key == t.key && o.value == t.value)
            })
            .cloned(),
    );
    change
}

/// What differs between the user's `desired` tags and a resource's `observed` tags.
pub fn diff(desired: &[Tag], observed: &[Tag]) -> TagChange {
    let user = |key: &str| !is_operator_key(key) && !is_aws_reserved(key);
    let set = desired
        .iter()
        .filter(|t| user(&t.key))
        .filter(|t| {
            observed.iter().find(|o| o.key == t.key).is_none_or(|o| {
                o.value.as_deref().unwrap_or("") != t.value.as_deref().unwrap_or("")
            })
        })
        .cloned()
        .collect();
    let mut remove: Vec<String> = observed
        .iter()
        .filter(|o| user(&o.key) && !desired.iter().any(|t| t.key == o.key))
        .map(|o| o.key.clone())
        .collect();
    remove.sort();
    TagChange { set, remove }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adoption_follows_the_annotation_and_same_owner_checks_the_owner_tag() {
        assert_eq!(
            Adoption::from_annotation(None, "ns", "web"),
            Adoption::Never
        );
        assert_eq!(
            Adoption::from_annotation(Some("false"), "ns", "web"),
            Adoption::Never
        );
        assert_eq!(
            Adoption::from_annotation(Some("true"), "ns", "web"),
            Adoption::Any
        );
        let same = Adoption::from_annotation(Some(" same-owner "), "ns", "web");
        assert_eq!(same, Adoption::SameOwner("ns/web".into()));
        assert!(same.allows(Some("ns/web")));
        assert!(!same.allows(Some("ns/api")));
        assert!(!same.allows(Some("other/web")));
        assert!(!same.allows(None), "a resource made by hand is not taken");
        assert!(Adoption::Any.allows(None));
        assert!(!Adoption::Never.allows(Some("ns/web")));
    }

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.into(),
            value: Some(value.into()),
        }
    }

    #[test]
    fn ownership_round_trip() {
        let tags = ownership("uid-1", "team-a", "web", Some("abc"));
        assert!(is_owned_by(&tags, "uid-1"));
        assert!(!is_owned_by(&tags, "uid-2"));
        assert_eq!(value(&tags, CONTENT_HASH), Some("abc"));
        assert_eq!(value(&tags, OWNER), Some("team-a/web"));
        assert_eq!(tags.len(), OPERATOR_TAGS);
    }

    #[test]
    fn tag_diff_never_touches_operator_or_aws_keys() {
        let observed = vec![
            tag("team", "a"),
            tag("old", "x"),
            tag(OWNER_UID, "uid-1"),
            tag("aws:cloudformation:stack-name", "s"),
        ];
        let desired = vec![tag("team", "b"), tag("new", "y"), tag(OWNER_UID, "forged")];
        let change = diff(&desired, &observed);
        assert_eq!(change.set, vec![tag("team", "b"), tag("new", "y")]);
        assert_eq!(change.remove, vec!["old".to_owned()]);
        assert!(diff(&[tag("team", "a")], &[tag("team", "a"), tag(OWNER, "ns/n")]).is_empty());
        assert!(is_aws_reserved("AWS:x") && !is_aws_reserved("awsx"));
    }
}
