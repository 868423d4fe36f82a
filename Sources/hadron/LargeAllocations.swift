import CMalloc

/// Keeps large allocations in malloc's heap instead of fresh memory maps, for the processes that move record
/// batches (storage, gateway, `hadron dev`).
///
/// glibc serves an allocation above its mmap threshold (128 KiB at first) with a memory map of its own and unmaps it
/// on free, so every record batch of a few hundred KiB received, fetched or encoded cost a page fault and a zeroed
/// page per 4 KiB, and an unmap. Under replicated batched publish that was about a tenth of storage CPU. With the
/// threshold at its maximum (32 MiB) the heap reuses freed batch buffers; the trim threshold lets a heap keep up to
/// 32 MiB free at its top rather than returning it and faulting it back in on the next batch. Measured: replicated
/// batched publish +10 to 17 % events/s, storage CPU per request −12 to −19 %; the gateway's resident memory under
/// batched load stays within its bound (84 MiB of 100).
enum LargeAllocations {
    static func keepInHeap() {
        _ = hadron_malloc_set_mmap_threshold(32 << 20)
        _ = hadron_malloc_set_trim_threshold(32 << 20)
    }
}
