#ifndef HADRON_CCRC32C_H
#define HADRON_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Continues a CRC-32C (Castagnoli) over `length` bytes at `bytes`.
///
/// `crc` is the running value in its finalised form (0 for an empty prefix); the result is finalised too, so
/// `hadron_crc32c_update(hadron_crc32c_update(0, a), b)` equals the checksum of `a` followed by `b`.
/// Uses the SSE4.2 `crc32` instruction when the CPU has it, a slicing-by-8 table otherwise.
uint32_t hadron_crc32c_update(uint32_t crc, const void *bytes, size_t length);

/// The portable slicing-by-8 path alone, so tests can compare it with the hardware path.
uint32_t hadron_crc32c_update_portable(uint32_t crc, const void *bytes, size_t length);

/// Non-zero when `hadron_crc32c_update` uses the hardware instruction on this machine.
int hadron_crc32c_is_hardware_accelerated(void);

#ifdef __cplusplus
}
#endif

#endif
