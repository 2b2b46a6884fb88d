//! The sandbox: the engine, the pre-instantiated component, and the store
//! data of each instance.
//!
//! An instance sees one preopened directory, the queue, at
//! [`GUEST_VIDEO_DIR`], and the configuration variables `VIDEO_DIR`,
//! `MODEL`, `SEP`, `DURABILITY` and `API_KEY`. It inherits no other
//! environment, gets no sockets, and is not linked to
//! `wasi:http/outgoing-handler`, so it cannot reach the network.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::{Cache, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttp, WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The guest path at which every instance sees the queue directory.
pub const GUEST_VIDEO_DIR: &str = "/video";

/// The component built with the host by its build script.
pub const BUILT_COMPONENT: &str = env!("VIDEO_DELETE_COMPONENT");

/// The store data of one instance.
pub struct Host {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

/// The settings every guest instance gets.
#[derive(Debug, Clone)]
pub struct GuestSettings {
    /// The host directory preopened at [`GUEST_VIDEO_DIR`].
    pub video_dir: PathBuf,
    pub model: String,
    pub separator: String,
    pub api_key: Option<String>,
    /// `sync` or `none`, as the component's `DURABILITY` variable.
    pub durability: &'static str,
}

/// Limits of the instance pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolLimits {
    pub max_instances: u32,
    pub max_memory_bytes: usize,
}

/// The compiled component, linked once and instantiated per request.
pub struct Sandbox {
    pub engine: Engine,
    pub pre: InstancePre<Host>,
    pub settings: GuestSettings,
}

impl Sandbox {
    /// Compiles (or loads from wasmtime's cache) the component and links it.
    pub fn new(
        component_path: &Path,
        settings: GuestSettings,
        limits: PoolLimits,
    ) -> anyhow::Result<Sandbox> {
        let engine = Engine::new(&engine_config(limits)?)?;
        let bytes = std::fs::read(component_path).with_context(|| {
            format!(
                "failed to read component {}; pass --component FILE with a readable \
                 .wasm file, or omit it to use the one built with the host",
                component_path.display()
            )
        })?;
        let component = Component::new(&engine, &bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "failed to compile component {}; if the cause names the pooling allocator, \
                 raise --max-memory-mib, otherwise rebuild the component with \
                 cargo build --release --lib -p video-delete --target wasm32-wasip2",
                    component_path.display()
                )
            })?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        // `wasi:http/types` only: without `outgoing-handler` the guest has no
        // way to send a request.
        let options = wasmtime_wasi_http::p2::bindings::LinkOptions::default();
        wasmtime_wasi_http::p2::bindings::http::types::add_to_linker::<_, WasiHttp>(
            &mut linker,
            &options.into(),
            Host::http,
        )?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("failed to link the component; it needs only WASI 0.2 and wasi:http/types")?;
        Ok(Sandbox {
            engine,
            pre,
            settings,
        })
    }

    /// Makes the store of one fresh instance.
    pub fn new_store(&self) -> anyhow::Result<Store<Host>> {
        let settings = &self.settings;
        let mut builder = WasiCtxBuilder::new();
        // Filesystem calls then run on the calling thread instead of one
        // hop to tokio's blocking pool each; callers run the guest on a
        // thread that may block. It must precede the preopen, which keeps
        // the setting it was added with.
        builder.allow_blocking_current_thread(true);
        builder
            .preopened_dir(&settings.video_dir, GUEST_VIDEO_DIR, FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("failed to preopen {}", settings.video_dir.display()))?
            .env("VIDEO_DIR", GUEST_VIDEO_DIR)
            .env("MODEL", &settings.model)
            .env("SEP", &settings.separator)
            .env("DURABILITY", settings.durability)
            // Every call runs under the producer's flock on job.txt.
            .env("VIDEO_DELETE_HOST_FLOCK", "1")
            .inherit_stderr()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if let Some(key) = &settings.api_key {
            builder.env("API_KEY", key);
        }
        let host = Host {
            table: ResourceTable::new(),
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
        };
        Ok(Store::new(&self.engine, host))
    }
}

fn engine_config(limits: PoolLimits) -> anyhow::Result<Config> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances)
        .total_core_instances(limits.max_instances * 4)
        .total_memories(limits.max_instances * 2)
        .total_tables(limits.max_instances * 4)
        .total_stacks(limits.max_instances)
        .max_memory_size(limits.max_memory_bytes);

    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // wasmtime's cache keeps the compiled component on disk, keyed by the
    // component's bytes and the engine settings, so a restart skips
    // compilation and a changed component is compiled afresh.
    match Cache::from_file(None) {
        Ok(cache) => {
            config.cache(Some(cache));
        }
        Err(error) => tracing::warn!(error = %format!("{error:#}"), "compilation cache disabled"),
    }
    Ok(config)
}

/// Checks that the queue directory exists and is a directory, naming the
/// fix when it is not.
pub fn check_video_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let metadata = match std::fs::metadata(dir) {
        Ok(metadata) => metadata,
        Err(error) => bail!(
            "queue directory {} is not accessible ({error}); pass --video-dir with an existing \
             directory that holds job.txt",
            dir.display()
        ),
    };
    if !metadata.is_dir() {
        bail!(
            "queue directory {} is not a directory; pass --video-dir with the directory that \
             holds job.txt",
            dir.display()
        );
    }
    dir.canonicalize()
        .with_context(|| format!("failed to resolve {}", dir.display()))
}
