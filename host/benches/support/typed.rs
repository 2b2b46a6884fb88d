//! A second embedding of the component's typed `video-delete:queue/delete`
//! export, built like the host's (`host/src/sandbox.rs` and
//! `host/src/typed.rs`): the same engine settings, pooling limits,
//! compilation cache and imports, and a fresh instance per call. It exists
//! to measure one change the host cannot be configured for: guest
//! filesystem calls that run on the calling thread
//! (`WasiCtxBuilder::allow_blocking_current_thread`) instead of tokio's
//! blocking pool. The plain typed benchmarks use the host library itself.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Cache, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttp, WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "typed-delete",
    exports: { default: async },
});

pub use exports::video_delete::queue::delete::{DeleteError, DeletedJob};

/// The guest path of the queue directory, as the host sets it.
const GUEST_VIDEO_DIR: &str = "/video";

/// The host's defaults for `--max-instances` and `--max-memory-mib`.
const MAX_INSTANCES: u32 = 64;
const MAX_MEMORY_BYTES: usize = 64 << 20;

pub struct State {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

/// The linked component, ready to instantiate once per call.
pub struct TypedRunner {
    engine: Engine,
    pre: TypedDeletePre<State>,
    video_dir: PathBuf,
    durability: String,
    allow_blocking: bool,
}

impl TypedRunner {
    /// Compiles (or loads from wasmtime's cache) `component` and links it
    /// for the queue in `video_dir`, with `durability` (`sync` or `none`)
    /// as the guest's `DURABILITY`. With `allow_blocking`, the guest's
    /// filesystem calls run on the calling thread.
    pub fn new(
        component: &Path,
        video_dir: &Path,
        durability: &str,
        allow_blocking: bool,
    ) -> anyhow::Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(MAX_INSTANCES)
            .total_core_instances(MAX_INSTANCES * 4)
            .total_memories(MAX_INSTANCES * 2)
            .total_tables(MAX_INSTANCES * 4)
            .total_stacks(MAX_INSTANCES)
            .max_memory_size(MAX_MEMORY_BYTES);
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        config.cache(Some(Cache::from_file(None)?));
        let engine = Engine::new(&config)?;
        let component = Component::from_file(&engine, component)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("failed to load {}", component.display()))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let options = wasmtime_wasi_http::p2::bindings::LinkOptions::default();
        wasmtime_wasi_http::p2::bindings::http::types::add_to_linker::<_, WasiHttp>(
            &mut linker,
            &options.into(),
            State::http,
        )?;
        let pre = TypedDeletePre::new(linker.instantiate_pre(&component)?)?;
        Ok(TypedRunner {
            engine,
            pre,
            video_dir: video_dir.canonicalize()?,
            durability: durability.to_string(),
            allow_blocking,
        })
    }

    fn new_store(&self) -> anyhow::Result<Store<State>> {
        let mut builder = WasiCtxBuilder::new();
        // A preopened directory keeps the setting it had when it was added,
        // so this must come first.
        builder.allow_blocking_current_thread(self.allow_blocking);
        builder
            .preopened_dir(&self.video_dir, GUEST_VIDEO_DIR, FsPerms::ReadWrite)?
            .env("VIDEO_DIR", GUEST_VIDEO_DIR)
            .env("MODEL", "InfinteTalk")
            .env("SEP", "$###$")
            .inherit_stderr()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .env("DURABILITY", &self.durability);
        let state = State {
            table: ResourceTable::new(),
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
        };
        Ok(Store::new(&self.engine, state))
    }

    /// Calls `delete-video` in a fresh instance. The outer error is a trap
    /// or host failure, the inner one the delete's own.
    pub async fn delete(&self, video_id: &str) -> anyhow::Result<Result<DeletedJob, DeleteError>> {
        let mut store = self.new_store()?;
        let instance = self.pre.instantiate_async(&mut store).await?;
        let result = instance
            .video_delete_queue_delete()
            .call_delete_video(&mut store, video_id)
            .await
            .map_err(anyhow::Error::from)
            .context("the component trapped")?;
        Ok(result)
    }
}
