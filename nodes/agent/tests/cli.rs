//! The `node-agent` binary's command line.

use std::process::Command;

#[test]
fn docker_runtime_is_refused_with_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_node-agent"))
        .args(["--kubeconfig", "/nonexistent", "--runtime", "docker", "--nodes", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("docker runtime is not implemented yet"), "{stderr}");
    assert!(out.stdout.is_empty(), "no ready line");
}

#[test]
fn unknown_runtime_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_node-agent"))
        .args(["--kubeconfig", "/nonexistent", "--runtime", "podman"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}
