/* Deterministic stand-in for the library's random source, for tests that
 * replay a recorded server stream to the library as shipped (every MAC
 * checked). Linked with -Wl,--wrap=crypto_random: every call the library makes
 * to crypto_random() (NTLM client challenge and exported session key, client
 * GUID, pre-authentication salt, encryption nonces) lands here and gets the
 * same bytes on every run after det_random_reset(). With the server's bytes
 * replayed unchanged, the session keys and pre-authentication hash come out
 * as when the stream was recorded, so the server's signatures verify.
 * Never linked into anything but tests. */
#include <stddef.h>
#include <stdint.h>

#include "det_random.h"

int __wrap_crypto_random(void *buf, size_t n);

static uint64_t state;

void det_random_reset(void)
{
    state = 0x736d627769726531ull; /* "smbwire1" */
}

int __wrap_crypto_random(void *buf, size_t n)
{
    uint8_t *p = buf;
    if (n && !p)
        return -1;
    if (!state)
        det_random_reset();
    for (size_t i = 0; i < n; i++) {
        /* xorshift64*: deterministic, not random; fine for a test. */
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        p[i] = (uint8_t)((state * 0x2545F4914F6CDD1Dull) >> 56);
    }
    return 0;
}
