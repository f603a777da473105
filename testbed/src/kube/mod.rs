//! The Kubernetes side of the test bed: a real control plane (kube-apiserver,
//! kube-controller-manager, etcd, built from the Go modules) for what a cluster accepts and
//! refuses, and an in-memory emulator of the API for fault knobs and request counts.

pub mod control_plane;
pub mod emulator;
