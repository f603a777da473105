//! moto in server mode: installed on demand (pinned) into a virtualenv under `target/`, started on
//! 127.0.0.1, stopped when the test process exits.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::TestbedError;
use crate::http;

/// The moto version the tests are written against (where it differs from AWS: testbed/README.md).
pub const MOTO_VERSION: &str = "5.2.5";

/// Run before moto's own `main`: moto 5.2.5 keeps which members an answer leaves out (the `tags`
/// that DescribeClusters, DescribeServices, DescribeTasks and DescribeTaskSets return only with
/// `include: ["TAGS"]`) in one dict on its response class, shared by every request the server
/// handles at once. A describe without TAGS arriving while one with TAGS is answered strips the
/// tags from that answer, and the operator, finding no owner tag on its own cluster, leaves it
/// behind. Each request keeps its own copy here. (AWS answers each request as asked.)
const PER_REQUEST_RESPONSE_MEMBERS: &str = r#"
import sys
from moto.core import responses, serialize

def _member(self, path, transformer):
    own = self.__dict__.get("RESPONSE_KEY_PATH_TO_TRANSFORMER")
    if own is None:
        own = dict(type(self).RESPONSE_KEY_PATH_TO_TRANSFORMER)
        self.RESPONSE_KEY_PATH_TO_TRANSFORMER = own
    own[path] = transformer

responses.BaseResponse._include_in_response = lambda self, path: _member(self, path, lambda x: x)
responses.BaseResponse._exclude_from_response = lambda self, path: _member(self, path, serialize.never_return)
sys.argv[0] = "moto_server"
from moto.server import main
sys.exit(main())
"#;

/// A running moto server.
pub struct MotoServer {
    url: String,
    child: Child,
    // Closing this pipe (when the process exits, however it exits, or on drop) stops the server.
    stdin: Option<ChildStdin>,
}

impl MotoServer {
    /// Installs moto if needed and starts it on 127.0.0.1 (on `port`, or a free one).
    pub fn start(port: Option<u16>) -> Result<Self, TestbedError> {
        let binary = moto_server_binary()?;
        let port = match port {
            Some(port) => port,
            None => free_port()?,
        };
        // The pinned install runs through its virtualenv's Python with the patch below, written
        // for that version; a `$MOTO_SERVER` of the caller's runs as it is.
        let python = binary.with_file_name("python");
        let (program, patch) = if std::env::var_os("MOTO_SERVER").is_none() && python.exists() {
            (python, PER_REQUEST_RESPONSE_MEMBERS)
        } else {
            (binary.clone(), "")
        };
        // A shell wrapper that kills moto when our end of its stdin closes, so no server outlives
        // the test binary that started it, even when that binary is killed.
        let script = "if [ -n \"$2\" ]; then \"$0\" -c \"$2\" -H 127.0.0.1 -p \"$1\" >/dev/null 2>&1 & \
                      else \"$0\" -H 127.0.0.1 -p \"$1\" >/dev/null 2>&1 & fi; pid=$!; \
                      while read -r _; do :; done; kill \"$pid\" 2>/dev/null; wait \"$pid\" 2>/dev/null";
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&program)
            .arg(port.to_string())
            .arg(patch)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| TestbedError::io(format!("starting {}", binary.display()), e))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| TestbedError::Moto("no stdin pipe".into()))?;
        let url = format!("http://127.0.0.1:{port}");
        wait_until_answering(port, Duration::from_secs(60))?;
        Ok(Self {
            url,
            child,
            stdin: Some(stdin),
        })
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One server per test binary, started on first use.
    pub fn shared() -> Result<&'static MotoServer, TestbedError> {
        static SHARED: OnceLock<Result<MotoServer, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| MotoServer::start(None).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| TestbedError::Moto(e.clone()))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Close the pipe and let the wrapper stop moto; killing the wrapper instead would leave
        // moto running without a parent.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 12-digit AWS account id unique to this process and call: moto keeps each account's state
/// apart, so tests sharing one server do not see each other (send it as `x-moto-account-id`).
pub fn next_account_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let base = u64::from(std::process::id() % 100_000) * 10_000;
    format!("{:012}", 100_000_000_000 + base + n)
}

/// The `moto_server` to run: `$MOTO_SERVER`, or a pinned install in a virtualenv under `target/`
/// (created on first use with `python3 -m venv` and pip).
pub fn moto_server_binary() -> Result<PathBuf, TestbedError> {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let venv = target_dir().join(format!("moto-venv-{MOTO_VERSION}"));
    let binary = venv.join("bin").join("moto_server");
    if binary.exists() {
        return Ok(binary);
    }
    // Install into a fresh folder and rename it into place, so concurrent test binaries never use
    // a half-installed environment.
    let staging = target_dir().join(format!("moto-venv-{MOTO_VERSION}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&staging),
        "python3 -m venv",
    )?;
    run(
        Command::new(staging.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("moto[server]=={MOTO_VERSION}")),
        "pip install moto[server]",
    )?;
    // The venv's scripts carry its path in their shebang lines, so it must run from where it was
    // made: point the final name at the staging folder.
    if std::os::unix::fs::symlink(&staging, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    if binary.exists() {
        Ok(binary)
    } else {
        Err(TestbedError::Moto(format!(
            "{} missing after install",
            binary.display()
        )))
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), TestbedError> {
    let output = command.output().map_err(|e| TestbedError::io(what, e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(TestbedError::Moto(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

/// The workspace's `target/` folder (or `$CARGO_TARGET_DIR`), where test tools are cached.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        })
}

fn free_port() -> Result<u16, TestbedError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| TestbedError::io("finding a free port", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| TestbedError::io("finding a free port", e))
}

fn wait_until_answering(port: u16, limit: Duration) -> Result<(), TestbedError> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
            let mut head = [0u8; 12];
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_exact(&mut head).is_ok()
                && head.starts_with(b"HTTP/")
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(TestbedError::Moto(format!(
        "moto did not answer on port {port} within {}s",
        limit.as_secs()
    )))
}

/// The default VPC's subnets and security groups of `account` in moto (region us-east-1), for
/// awsvpc network configurations. moto's EC2 answers unsigned Query requests.
pub async fn default_network(
    moto_url: &str,
    account: &str,
) -> Result<(Vec<String>, Vec<String>), TestbedError> {
    let query = |action: &'static str| async move {
        let auth = crate::aws::query::authorization("ec2");
        let headers = [
            ("x-moto-account-id", account),
            ("authorization", auth.as_str()),
        ];
        let form = format!("Action={action}&Version=2016-11-15");
        match crate::aws::query::send(&http::client(), moto_url, &headers, &form).await {
            Ok((200, body)) => Ok(body),
            Ok((status, _)) => Err(TestbedError::Http(format!("{action}: HTTP {status}"))),
            Err(e) => Err(TestbedError::Http(format!("{action}: {e}"))),
        }
    };
    let subnets = crate::aws::query::xml_values(&query("DescribeSubnets").await?, "subnetId");
    let groups = crate::aws::query::xml_values(&query("DescribeSecurityGroups").await?, "groupId");
    Ok((subnets, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_unique_12_digit() {
        let a = next_account_id();
        let b = next_account_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
    }
}
