//! The CustomResourceDefinitions of every kind, generated from the Rust types.
//!
//! `ecs-operator crds` prints them and `crds/` holds the committed copies; a test keeps both equal.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Every CRD the operator serves, with the file name it is committed under in `crds/`.
pub fn all() -> Vec<(String, CustomResourceDefinition)> {
    crate::controller::registry::kinds()
        .iter()
        .map(|kind| (format!("{}.yaml", kind.plural()), (kind.crd)()))
        .collect()
}

/// One CRD as the YAML document committed in `crds/`.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(crd)
}
