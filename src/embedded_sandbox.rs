//! The zero-setup mode: without Keka credentials, the subgraph starts the `keka_sandbox` crate's simulated tenant
//! (and its Keeper SCIM node) on loopback and points its own clients at it.
//!
//! This is the only module that knows both sides: the sandbox speaks Keka's wire format from its own definitions,
//! and the clients read it with theirs. Tests and benchmarks use the same functions to aim at a sandbox they start.

use std::net::SocketAddr;

use keka_sandbox::{RunningSandbox, SandboxConfig};
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use crate::keeper::KeeperConfig;
use crate::keka::{KekaConfig, KekaCredentials};

/// Starts the sandbox and returns it with a Keka client configuration for it.
pub async fn start(config: SandboxConfig) -> anyhow::Result<(RunningSandbox, KekaConfig)> {
    let sandbox = RunningSandbox::start(config).await?;
    let keka = keka_config_for(&sandbox)?;
    Ok((sandbox, keka))
}

/// Has the sandbox's simulated HR team announce its changes to this subgraph's webhook route, as a Keka admin would
/// configure it: the same header and secret, at the address the subgraph listens on.
pub fn announce_changes_to(
    config: &mut SandboxConfig,
    listen: SocketAddr,
    header: &str,
    secret: &SecretString,
) -> anyhow::Result<()> {
    // An unspecified listen address accepts loopback; the sandbox lives there too.
    let host = match listen.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        ip if ip.is_ipv6() => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    config.webhook_url = Some(Url::parse(&format!("http://{host}:{}/webhooks/keka", listen.port()))?);
    config.webhook_header = header.to_owned();
    config.webhook_secret = Some(SecretString::from(secret.expose_secret().to_owned()));
    Ok(())
}

/// A Keka client configuration pointed at a running sandbox, with its credentials.
pub fn keka_config_for(sandbox: &RunningSandbox) -> anyhow::Result<KekaConfig> {
    let credentials = sandbox.credentials();
    Ok(KekaConfig::new(
        Url::parse(&sandbox.base_url())?,
        Url::parse(&sandbox.token_url())?,
        KekaCredentials {
            client_id: credentials.client_id.clone(),
            client_secret: SecretString::from(credentials.client_secret.clone()),
            api_key: SecretString::from(credentials.api_key.clone()),
        },
    ))
}

/// A Keeper client configuration pointed at a running sandbox's SCIM node, with its token.
pub fn keeper_config_for(sandbox: &RunningSandbox) -> anyhow::Result<KeeperConfig> {
    Ok(KeeperConfig::with_base_url(&sandbox.keeper_base_url(), SecretString::from(sandbox.keeper_token()))?)
}
