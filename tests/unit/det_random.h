/* Deterministic crypto_random() for tests (det_random.c; link with
 * -Wl,--wrap=crypto_random). */
#ifndef SMBW_TEST_DET_RANDOM_H
#define SMBW_TEST_DET_RANDOM_H

/* Restarts the byte sequence: the next run gets the same bytes as the first. */
void det_random_reset(void);

#endif
