use clap::Parser;
use keka_subgraph::{cli, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    telemetry::init(cli.log_format);
    cli::run(cli).await
}
