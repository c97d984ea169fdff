/* DFS referral responses (MS-DFSC 2.2.4, 2.2.5.x), the output buffer of
 * FSCTL_DFS_GET_REFERRALS. The first two input bytes are the UTF-16 byte
 * length of the path asked about (PathConsumed's bound), the rest is the
 * buffer. A decoded response must hold 1..DFS_MAX_REFERRALS entries of one
 * version, each with a target and a TTL of at most DFS_TTL_MAX. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t req = (size_t)data[0] | ((size_t)data[1] << 8);
    size_t n = size - 2;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 2, n);
    dfs_referral_rsp r;
    if (wire_decode_dfs_referral_rsp(p, n, req, &r) == 0) {
        fz_check(r.count >= 1 && r.count <= DFS_MAX_REFERRALS, "referral count out of range");
        fz_check(r.path_consumed <= req && r.path_consumed % 2 == 0, "PathConsumed accepted");
        for (size_t i = 0; i < r.count; i++) {
            const dfs_referral *d = &r.refs[i];
            fz_check(d->version == r.version, "versions mixed");
            fz_check(d->node && *d->node, "referral without a target");
            fz_check(d->ttl <= DFS_TTL_MAX, "TTL above the bound");
            fz_check(strlen(d->node) < n * 2 + 1, "target longer than the buffer");
        }
        wire_dfs_referral_rsp_free(&r);
    } else {
        fz_check(r.refs == NULL && r.count == 0, "failed decode left entries");
    }
    free(p);
    return 0;
}
