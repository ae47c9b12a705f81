//! A memory limit on ONNX Runtime in ready's own process: one CPU arena with `max_mem`,
//! registered on the environment and shared by every session created with
//! `session.use_env_allocators`. An allocation past the limit fails inside the runtime
//! (measured on 1.31.1: `BFCArena` refuses it and the run returns an error), so a model whose
//! outputs would need 16 GiB fails its run instead of growing the process.
//!
//! `ort` 2.0.0-rc.15 has no wrapper for arena configurations, so this calls the C API
//! (`CreateArenaCfgV2`, `CreateAndRegisterAllocator`) directly.

use std::ffi::{CStr, c_char};
use std::ptr;

use ort::AsPointer;
use ort::environment::Environment;
use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};

/// The message of a failed C API status (and the status released), or `Ok` for none.
fn check(status: ort::sys::OrtStatusPtr) -> Result<(), String> {
    let status = status.0;
    if status.is_null() {
        return Ok(());
    }
    let api = ort::api();
    // SAFETY: `status` is a live status returned by the API; its message is a C string owned
    // by it, copied before the status is released.
    let message = unsafe { CStr::from_ptr((api.GetErrorMessage)(status)).to_string_lossy().into_owned() };
    // SAFETY: released once, not used after.
    unsafe { (api.ReleaseStatus)(status) };
    Err(message)
}

/// Registers a CPU arena of at most `max_bytes` on `environment`; sessions then use it when
/// built with `with_env_allocators`.
pub fn register_capped_cpu_arena(environment: &Environment, max_bytes: usize) -> Result<(), String> {
    let api = ort::api();
    let info = MemoryInfo::new(AllocationDevice::CPU, 0, AllocatorType::Arena, MemoryType::Default).map_err(|e| e.to_string())?;
    let keys: [*const c_char; 1] = [c"max_mem".as_ptr()];
    let values: [usize; 1] = [max_bytes];
    let mut config: *mut ort::sys::OrtArenaCfg = ptr::null_mut();
    // SAFETY: one key and one value, both arrays live for the call; `config` receives a new
    // configuration that is released below.
    check(unsafe { (api.CreateArenaCfgV2)(keys.as_ptr(), values.as_ptr(), keys.len(), &mut config) })?;
    // SAFETY: the environment, memory info and configuration are live; the runtime copies
    // what it needs from the configuration, which is then released.
    let registered = check(unsafe { (api.CreateAndRegisterAllocator)(environment.ptr().cast_mut(), info.ptr(), config) });
    // SAFETY: created above, released once.
    unsafe { (api.ReleaseArenaCfg)(config) };
    registered
}
