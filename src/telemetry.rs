//! Logging and tracing: human-readable log lines by default, JSON lines on request (`RUST_LOG` filters as usual),
//! and, when an OTLP endpoint is configured, every span (a GraphQL request, its Keka and Keeper calls) exported
//! to an OpenTelemetry collector over OTLP/HTTP.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Flushes exported spans when dropped (at the end of `main`).
#[must_use = "spans are flushed when the guard drops"]
pub struct TelemetryGuard {
    tracer_provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("could not flush the OpenTelemetry spans: {error}");
        }
    }
}

/// Installs the global subscriber once (later calls, e.g. from tests, are ignored). With `otlp_endpoint`
/// (e.g. `http://127.0.0.1:4318`), spans are also exported there as OTLP/HTTP protobuf (`/v1/traces`).
pub fn init(format: LogFormat, otlp_endpoint: Option<&url::Url>, service_name: &str) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (otel_layer, tracer_provider) = match otlp_endpoint {
        Some(endpoint) => {
            let provider = otlp_tracer_provider(endpoint, service_name)?;
            use opentelemetry::trace::TracerProvider as _;
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("keka-subgraph"));
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    let _already_set = match format {
        LogFormat::Human => registry.with(tracing_subscriber::fmt::layer().with_target(false)).try_init(),
        LogFormat::Json => {
            registry.with(tracing_subscriber::fmt::layer().with_target(false).json().flatten_event(true)).try_init()
        }
    };
    Ok(TelemetryGuard { tracer_provider })
}

fn otlp_tracer_provider(
    endpoint: &url::Url,
    service_name: &str,
) -> anyhow::Result<opentelemetry_sdk::trace::SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig as _;
    let traces = endpoint.join("v1/traces")?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(traces.as_str())
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service_name.to_owned()).build();
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
