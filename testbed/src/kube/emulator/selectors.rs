//! Label and field selectors, as `?labelSelector=` and `?fieldSelector=` take them.

use serde_json::Value;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector (`app=web,tier!=db,env in (a,b),!legacy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    /// Parses a selector; `Err` names what could not be parsed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let requirement = if let Some((key, values)) = split_set(part, " notin ") {
                Requirement::NotIn(key, values)
            } else if let Some((key, values)) = split_set(part, " in ") {
                Requirement::In(key, values)
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(key.trim().into())
            } else if part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                Requirement::Exists(part.into())
            } else {
                return Err(format!("unable to parse requirement: {part:?}"));
            };
            requirements.push(requirement);
        }
        Ok(Self(requirements))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let get = |key: &str| labels.get(key).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

fn split_set(part: &str, operator: &str) -> Option<(String, Vec<String>)> {
    let (key, rest) = part.split_once(operator)?;
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some((
        key.trim().into(),
        inner.split(',').map(|v| v.trim().to_owned()).collect(),
    ))
}

/// A parsed field selector: `metadata.name` and `metadata.namespace`, as for custom resources on a
/// real API server, and the fields a built-in type adds (see [`FieldSelector::parse_with`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses `metadata.name=x,metadata.namespace!=y`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_with(text, &[])
    }

    /// Parses a selector that may also name the dotted paths in `extra` (`involvedObject.name`).
    pub fn parse_with(text: &str, extra: &[&str]) -> Result<Self, String> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, true, v)
            } else {
                return Err(format!("invalid field selector: {part:?}"));
            };
            if !matches!(field, "metadata.name" | "metadata.namespace") && !extra.contains(&field) {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_owned(), equal, value.to_owned()));
        }
        Ok(Self(terms))
    }

    /// Whether the object satisfies every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            // `source` names an Event's source component, or its reporting controller when it
            // has none, as on a real server (in the field names of either version).
            let pointers = if field == "source" {
                vec![
                    "/source/component".to_owned(),
                    "/reportingComponent".to_owned(),
                    "/deprecatedSource/component".to_owned(),
                    "/reportingController".to_owned(),
                ]
            } else {
                vec![format!("/{}", field.replace('.', "/"))]
            };
            let actual = pointers
                .iter()
                .find_map(|p| {
                    object
                        .pointer(p)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                })
                .unwrap_or_default();
            (actual == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let object = json!({"metadata": {"labels": {"app": "web", "env": "prod"}}});
        for (selector, expected) in [
            ("app=web", true),
            ("app==web,env=prod", true),
            ("app!=web", false),
            ("env in (dev, prod)", true),
            ("env notin (prod)", false),
            ("app", true),
            ("!legacy", true),
            ("!app", false),
            ("", true),
        ] {
            assert_eq!(
                LabelSelector::parse(selector)
                    .expect(selector)
                    .matches(&object),
                expected,
                "{selector}"
            );
        }
        assert!(LabelSelector::parse("a b c").is_err());
    }

    #[test]
    fn field_selectors() {
        let object = json!({"metadata": {"name": "x", "namespace": "default"}});
        assert!(
            FieldSelector::parse("metadata.name=x")
                .expect("ok")
                .matches(&object)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=x")
                .expect("ok")
                .matches(&object)
        );
        assert!(FieldSelector::parse("spec.x=1").is_err());
    }
}
