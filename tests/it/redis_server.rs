//! A real `redis-server` (Debian's package, installed by `.ci/run`) on a free loopback port, started and stopped by
//! the test that needs it: ready once it logs that it accepts connections, stopped by PID (SIGKILL plays a crash).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub(crate) struct RedisServer {
    child: Child,
    port: u16,
    killed: bool,
}

impl RedisServer {
    /// Starts an empty server without persistence on a port the OS chose.
    pub(crate) async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::start_on(port).await
    }

    async fn start_on(port: u16) -> Self {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "notice", "--dir"])
            .arg(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server starts (Debian's `redis-server` package; .ci/run installs it)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.expect("redis-server's log") {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await
        .expect("redis-server is ready within 20 s");
        assert!(ready, "redis-server exited before it was ready (port {port} taken?)");
        // Keep draining its log, so a full pipe never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, port, killed: false }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// SIGKILL, as a crash: whatever it held is gone.
    pub(crate) async fn kill(&mut self) {
        if !self.killed {
            self.child.kill().await.expect("redis-server is killed");
            self.killed = true;
        }
    }

    /// A new, empty server on the same port (after [`Self::kill`]): Redis restarted without persistence.
    pub(crate) async fn restart(&mut self) {
        self.kill().await;
        let fresh = Self::start_on(self.port).await;
        let old = std::mem::replace(self, fresh);
        drop(old);
    }

    /// A plain connection for the test's own checks.
    pub(crate) async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }
}
