//! A real `redis-server` (Debian's package, installed by `.ci/run`) on a free loopback port, started and stopped by
//! the test that needs it: ready once it logs that it accepts connections, stopped by PID (SIGKILL plays a crash).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub(crate) struct RedisServer {
    child: Child,
    port: u16,
    /// Extra arguments (users, TLS), kept for a restart.
    extra: Vec<String>,
    tls: bool,
    killed: bool,
}

impl RedisServer {
    /// Starts an empty server without persistence on a port the OS chose.
    pub(crate) async fn start() -> Self {
        Self::start_with(Vec::new()).await
    }

    /// Like [`Self::start`], with more arguments (ACL users…).
    pub(crate) async fn start_with(extra: Vec<String>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::start_on(port, extra, false).await
    }

    /// A server that speaks only TLS, with a certificate made for this run; its PEM is also the authority clients
    /// must trust ([`Self::tls_ca`]).
    pub(crate) async fn start_tls() -> Self {
        let dir = std::env::temp_dir().join(format!("redis-tls-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        let path = |path: &std::path::Path| path.to_str().unwrap().to_owned();
        let extra = vec![
            "--tls-cert-file".to_owned(),
            path(&cert),
            "--tls-key-file".to_owned(),
            path(&key),
            "--tls-ca-cert-file".to_owned(),
            path(&cert),
            "--tls-auth-clients".to_owned(),
            "no".to_owned(),
        ];
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::start_on(port, extra, true).await
    }

    async fn start_on(port: u16, extra: Vec<String>, tls: bool) -> Self {
        let ports = if tls {
            ["--port".to_owned(), "0".to_owned(), "--tls-port".to_owned(), port.to_string()]
        } else {
            ["--port".to_owned(), port.to_string(), "--tls-port".to_owned(), "0".to_owned()]
        };
        let mut child = Command::new("redis-server")
            .args(ports)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "notice", "--dir"])
            .arg(std::env::temp_dir())
            .args(&extra)
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
        Self { child, port, extra, tls, killed: false }
    }

    pub(crate) fn url(&self) -> String {
        if self.tls {
            format!("rediss://127.0.0.1:{}/", self.port)
        } else {
            format!("redis://127.0.0.1:{}/", self.port)
        }
    }

    /// The PEM of a TLS server's certificate (self-signed: its own authority).
    pub(crate) fn tls_ca(&self) -> Option<Vec<u8>> {
        let at = self.extra.iter().position(|arg| arg == "--tls-cert-file")?;
        Some(std::fs::read(&self.extra[at + 1]).unwrap())
    }

    /// The URL with a user and password.
    pub(crate) fn url_as(&self, user: &str, password: &str) -> String {
        self.url().replacen("://", &format!("://{user}:{password}@"), 1)
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
        let fresh = Self::start_on(self.port, self.extra.clone(), self.tls).await;
        let old = std::mem::replace(self, fresh);
        drop(old);
    }

    /// A plain connection for the test's own checks.
    pub(crate) async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }
}
