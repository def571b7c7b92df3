// How the process's allocator treats the buffers a run frees.
#pragma once

namespace edgerun::memory {

// Asks glibc to keep freed buffers of up to 32 MiB for reuse instead of handing them back to the
// kernel, once per process; a no-op elsewhere, or when EDGERUN_MALLOC_TUNING=0.
//
// Why: by default glibc serves every allocation above 128 KiB (activations, oneDNN's
// workspaces) with a fresh mmap and unmaps it on free, so every run touches new pages and pays a
// page fault per 4 KiB. On the virtual machines this project runs on, that made MobileNetV3-small
// take 15 ms a run instead of 2.8 ms and ResNet-50 90 ms instead of 52 ms. The setting is
// process-wide; an application that tunes malloc itself can opt out with the variable.
void retain_freed_buffers();

}  // namespace edgerun::memory
