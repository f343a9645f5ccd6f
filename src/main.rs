//! The `pictor` command: `serve`, `transform`, `app create|list|quota`, `check [--repair]`,
//! `migrate`.

use clap::{Args, Parser, Subcommand};
use pictor::app::migrate::MAX_JOBS;
use pictor::app::quota::Limit;
use pictor::app::{app_json, open_context, StartError};
use pictor::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

/// Caps glibc's malloc at two arenas. With one arena per thread (up to 8 per core), the cold
/// path's large, short-lived pixel buffers, freed on other threads than they were made on,
/// left each arena holding its own high-water mark: peak RSS of the 20-photo cold benchmark
/// fell from 107 MiB to 46 MiB with this cap, and throughput rose.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable; it runs first in main, before any other
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[derive(Parser)]
#[command(name = "pictor", version, about = "Self-hosted image service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (delivery, management API, metrics).
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Run an operation over a local image and write the results (debugging).
    Transform {
        /// Operation file: the body of `PUT /operations/{id}`; its stem is the operation id.
        #[arg(long)]
        operation: PathBuf,
        /// Source image.
        src: PathBuf,
        /// Folder for the results.
        outdir: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Manage apps (tenants).
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Compare the catalog with the object store and print one JSON object: files, stored
    /// objects, missing blobs (files without bytes) and orphans (unreferenced blobs older than
    /// storage.orphan_grace_secs). Exits with status 1 when problems remain.
    Check {
        #[command(flatten)]
        common: Common,
        /// Delete the orphans (missing bytes cannot be repaired; they stay reported).
        #[arg(long)]
        repair: bool,
    },
    /// Copy an embedded deployment (DIR/catalog.sqlite3 and DIR/blobs; stop its server
    /// first) into the catalog and blob store the configuration names, then verify the copy
    /// and print one JSON report. Run it again after an interruption: it skips what the
    /// target holds already. Exits with status 1 when the target differs from the source.
    Migrate {
        #[command(flatten)]
        common: Common,
        /// Data directory of the embedded deployment to copy.
        #[arg(long)]
        from_data_dir: PathBuf,
        /// Files whose bytes are copied or checked at once (1..=64).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=MAX_JOBS as i64))]
        jobs: u16,
    },
}

#[derive(Subcommand)]
enum AppCommand {
    /// Create an app and print its keys as one JSON object.
    Create {
        #[command(flatten)]
        common: Common,
        /// Name of the app.
        #[arg(long, default_value = "app")]
        name: String,
    },
    /// Print every app as a JSON array.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Change an app's storage quota (the limits given; the others are kept) and print it as
    /// one JSON object with what the app holds (usedBytes, usedFiles, availableBytes,
    /// availableFiles).
    Quota {
        #[command(flatten)]
        common: Common,
        /// The app's key.
        app_key: String,
        /// Most bytes the app may hold, or `none` (or 0) for no limit.
        #[arg(long)]
        bytes: Option<Limit>,
        /// Most files the app may hold, or `none` (or 0) for no limit.
        #[arg(long)]
        files: Option<Limit>,
    },
}

#[derive(Args)]
struct Common {
    /// Configuration file (TOML); see config/pictor.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (overrides server.data_dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Catalog URL (overrides catalog.url): sqlite:///path or
    /// postgres://user[:password]@host[:port]/database.
    #[arg(long)]
    catalog_url: Option<String>,
    /// Object store URL (overrides storage.url).
    #[arg(long)]
    storage_url: Option<String>,
}

impl Common {
    fn load(&self, listen: Option<&str>) -> Result<Config, StartError> {
        let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(dir) = &self.data_dir {
            config.server.data_dir = dir.clone();
        }
        if let Some(url) = &self.catalog_url {
            config.catalog.url = url.clone();
        }
        if let Some(url) = &self.storage_url {
            config.storage.url = url.clone();
        }
        if let Some(listen) = listen {
            config.server.listen = listen.to_owned();
        }
        config.validate()?;
        Ok(config)
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pictor: {}", with_causes(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error's message followed by those of its causes that it does not already hold, so a
/// failed start says why (a TLS handshake failed: the server's certificate is unknown).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn runtime() -> Result<tokio::runtime::Runtime, StartError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(command: Command) -> Result<(), StartError> {
    match command {
        Command::Serve { common, listen } => {
            let config = common.load(listen.as_deref())?;
            init_logging(&config);
            runtime()?.block_on(pictor::app::server::run(config))
        }
        Command::Transform {
            operation,
            src,
            outdir,
            common,
        } => {
            let config = common.load(None)?;
            let limits = pictor::imaging::Limits::from(&config.imaging);
            let written = pictor::app::transform::run(&operation, &src, &outdir, &limits)?;
            for path in written {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::App { command } => match command {
            AppCommand::Create { common, name } => {
                let config = common.load(None)?;
                runtime()?.block_on(async {
                    let ctx = open_context(config, None).await?;
                    let app = ctx.create_app(&name).await?;
                    println!("{}", app_json(&app));
                    Ok(())
                })
            }
            AppCommand::List { common } => {
                let config = common.load(None)?;
                runtime()?.block_on(async {
                    let ctx = open_context(config, None).await?;
                    let apps = ctx.catalog.apps().await?;
                    let list: Vec<_> = apps.iter().map(app_json).collect();
                    println!("{}", serde_json::Value::Array(list));
                    Ok(())
                })
            }
            AppCommand::Quota {
                common,
                app_key,
                bytes,
                files,
            } => {
                let config = common.load(None)?;
                runtime()?.block_on(async {
                    let ctx = open_context(config, None).await?;
                    let shown = pictor::app::quota::run(&ctx, &app_key, bytes, files).await?;
                    println!("{shown}");
                    Ok(())
                })
            }
        },
        Command::Migrate {
            common,
            from_data_dir,
            jobs,
        } => {
            let config = common.load(None)?;
            init_logging(&config);
            let report = runtime()?.block_on(pictor::app::migrate::run(
                config,
                &from_data_dir,
                usize::from(jobs),
            ))?;
            println!("{}", serde_json::json!(report));
            if report.is_clean() {
                Ok(())
            } else {
                Err(StartError::MigrationMismatch(report.mismatch_count))
            }
        }
        Command::Check { common, repair } => {
            let config = common.load(None)?;
            init_logging(&config);
            runtime()?.block_on(async {
                let ctx = open_context(config, None).await?;
                let report = pictor::app::check::run(&ctx, repair, pictor::clock::now_ms()).await?;
                println!("{}", serde_json::json!(report));
                if report.is_clean() {
                    Ok(())
                } else {
                    Err(StartError::Inconsistent {
                        missing: report.missing.len(),
                        orphans: report.orphans.len().saturating_sub(report.deleted),
                    })
                }
            })
        }
    }
}
