//! A private Kafka-protocol broker (the stack's nisshi binary) for tests that stop and restart
//! the broker: the stack's shared broker stays up for the other tests. Loopback only, its own
//! empty working directory (the broker reads a `.env` from its cwd, and puts its SQLite file
//! there).

use anyhow::Context as _;
use bondgate_kafka::KafkaConfig;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the broker keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `memory://`: lost when the process exits.
    Memory,
    /// `sqlite://`: a file in the broker's directory, kept across restarts.
    Sqlite,
}

/// A running (or stopped) private broker; killed and removed on drop.
#[derive(Debug)]
pub struct PrivateBroker {
    dir: tempfile::TempDir,
    port: u16,
    storage: Storage,
    child: Option<Child>,
}

/// The broker binary `scripts/stack` installed (`BONDGATE_NISSHI_BIN`, else the tools cache).
fn binary() -> anyhow::Result<PathBuf> {
    let path = match std::env::var_os("BONDGATE_NISSHI_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let tools = std::env::var_os("BONDGATE_TOOLS_DIR")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bondgate/tools"))
                })
                .context("neither BONDGATE_TOOLS_DIR nor HOME is set")?;
            tools.join("bin/nisshi")
        }
    };
    anyhow::ensure!(
        path.exists(),
        "no broker binary at {} (scripts/stack up installs it)",
        path.display()
    );
    Ok(path)
}

impl PrivateBroker {
    /// Starts a broker on a free loopback port.
    pub fn start(storage: Storage) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("bondgate-broker-")
            .tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut broker = Self {
            dir,
            port,
            storage,
            child: None,
        };
        broker.restart()?;
        Ok(broker)
    }

    /// Client settings for this broker (topics as in the defaults; tests pick their own).
    pub fn kafka(&self) -> KafkaConfig {
        KafkaConfig {
            brokers: format!("127.0.0.1:{}", self.port),
            ..KafkaConfig::default()
        }
    }

    /// `kill -9` of the broker process.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the broker (again) on the same port and directory.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.child.is_none(), "the broker is running");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let engine = match self.storage {
            Storage::Memory => "memory://nisshi/",
            Storage::Sqlite => "sqlite://nisshi.db",
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("broker.log"))?;
        let child = Command::new(binary()?)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", engine])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "the private broker did not open port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
