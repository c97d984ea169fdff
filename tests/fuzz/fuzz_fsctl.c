/* FSCTL outputs. The first input byte (mod 6) picks the decoder; the rest is
 * the output buffer (or, for 5, an IOCTL response body after a valid header):
 *   0 SRV_REQUEST_RESUME_KEY, 1 SRV_COPYCHUNK_RESPONSE,
 *   2 FILE_ALLOCATED_RANGE_BUFFER list, 3 VALIDATE_NEGOTIATE_INFO response,
 *   4 FSCTL_OFFLOAD_READ_OUTPUT and FSCTL_OFFLOAD_WRITE_OUTPUT (ODX),
 *   5 IOCTL response (wire_decode_ioctl) then all five on its output. */
#include "fuzz.h"

static void outputs(const uint8_t *p, size_t n, int which)
{
    if (which < 0 || which == 0) {
        srv_resume_key k;
        if (wire_decode_resume_key(p, n, &k) == 0)
            fz_check(n >= SMB2_RESUME_KEY_SIZE + 4 + (size_t)k.context_len,
                     "resume key context longer than the buffer");
    }
    if (which < 0 || which == 1) {
        srv_copychunk_rsp r;
        FZ_IGNORE(wire_decode_copychunk_rsp(p, n, &r));
    }
    if (which < 0 || which == 2) {
        alloc_range r[4];
        size_t cnt = 0;
        if (wire_decode_allocated_ranges(p, n, r, 4, &cnt) == 0) {
            fz_check(cnt <= 4, "more ranges than room");
            for (size_t i = 0; i < cnt; i++)
                fz_check(r[i].off + r[i].len >= r[i].off, "range overflows");
        }
    }
    if (which < 0 || which == 3) {
        validate_negotiate_info v;
        FZ_IGNORE(wire_decode_validate_negotiate(p, n, &v));
    }
    if (which < 0 || which == 4) {
        odx_read_rsp r;
        if (wire_decode_offload_read_rsp(p, n, &r) == 0)
            fz_check(n >= 528 && r.token_info.id_len <= 504, "ODX token accepted out of range");
        odx_write_rsp w;
        if (wire_decode_offload_write_rsp(p, n, &w) == 0)
            fz_check(n >= 16, "ODX write output shorter than its structure");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    int which = data[0] % 6;
    if (which < 5) {
        outputs(p, n, which);
        return 0;
    }
    size_t len;
    uint8_t *msg = fz_response(SMB2_IOCTL, 0, p, n, &len);
    if (!msg)
        return 0;
    smb2_hdr h;
    smb2_ioctl_rsp r;
    if (wire_decode_hdr(msg, len, &h) == 0 && wire_check_response(msg, len, &h) == 0 &&
        wire_decode_ioctl(msg, len, &r) == 0) {
        fz_inside(r.input, r.input_len, msg, len, "ioctl input");
        fz_inside(r.output, r.output_len, msg, len, "ioctl output");
        outputs(r.output, r.output_len, -1);
    }
    free(msg);
    return 0;
}
