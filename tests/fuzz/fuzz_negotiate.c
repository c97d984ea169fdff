/* NEGOTIATE response body, in particular the SMB 3.1.1 negotiate context
 * list (wire_decode_negotiate). The input is the body after a valid 64-byte
 * header (built here), so every mutation lands in the part under test. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    uint8_t *msg = fz_response(SMB2_NEGOTIATE, 0, data, size, &len);
    if (!msg)
        return 0;
    smb2_hdr h;
    smb2_negotiate_rsp r;
    if (wire_decode_hdr(msg, len, &h) == 0 && wire_check_response(msg, len, &h) == 0 &&
        wire_decode_negotiate(msg, len, &r) == 0) {
        fz_inside(r.security_buffer, r.security_buffer_len, msg, len, "negotiate token");
        (void)fz_touch(r.security_buffer, r.security_buffer_len);
        if (r.dialect == 0x0311)
            fz_check(r.have_preauth, "3.1.1 negotiate accepted without a preauth context");
    }
    free(msg);
    return 0;
}
