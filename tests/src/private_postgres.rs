//! A private, throwaway PostgreSQL cluster for tests that stop and start the database (outage
//! tests must not stop the stack's shared server under the other tests). Same binaries and
//! settings as `scripts/stack`: loopback only, fsync on.

use anyhow::Context as _;
use std::path::PathBuf;
use std::process::Command;

/// A running (or stopped) private cluster; removed on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|dir| dir.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .context("no PostgreSQL server binaries under /usr/lib/postgresql")
}

/// Runs a PostgreSQL binary, as the `postgres` user when we are root (it refuses root).
fn pg(binary: &str, args: &[&str]) -> anyhow::Result<()> {
    let path = bin_dir()?.join(binary);
    let status = if is_root() {
        Command::new("runuser")
            .arg("-u")
            .arg("postgres")
            .arg("--")
            .arg(&path)
            .args(args)
            .status()?
    } else {
        Command::new(&path).args(args).status()?
    };
    anyhow::ensure!(status.success(), "{binary} {args:?} failed: {status}");
    Ok(())
}

/// True when this process runs as uid 0 (read from /proc, no libc call needed).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl PrivatePostgres {
    /// Creates and starts a cluster with user `bondgate` and database `bondgate`.
    pub fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("bondgate-pg-").tempdir()?;
        if is_root() {
            Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status()?;
        }
        let data = dir.path().join("data");
        let data = data.to_str().context("temp path is UTF-8")?;
        pg(
            "initdb",
            &[
                "-D",
                data,
                "-U",
                "bondgate",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "-N",
            ],
        )?;
        let cluster = Self {
            dir,
            port: free_port()?,
        };
        cluster.pg_start()?;
        let psql = bin_dir()?.join("psql");
        let status = Command::new(psql)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &cluster.port.to_string(),
                "-U",
                "bondgate",
                "-d",
                "postgres",
                "-qc",
                "CREATE DATABASE bondgate",
            ])
            .status()?;
        anyhow::ensure!(status.success(), "creating the database failed");
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn pg_start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}'",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    /// `pg_ctl stop -m immediate`: like a crash, no clean shutdown.
    pub fn stop_immediate(&self) -> anyhow::Result<()> {
        pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
    }

    /// Starts it again after a stop (crash recovery runs).
    pub fn restart(&self) -> anyhow::Result<()> {
        self.pg_start()
    }

    /// The database URL.
    pub fn url(&self) -> String {
        format!("postgres://bondgate@127.0.0.1:{}/bondgate", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}
