/* NTLMSSP CHALLENGE_MESSAGE and its AV_PAIR list: ntlm_parse_challenge on the
 * input, then a deterministic client context (fixed client challenge, time
 * and session key) that builds its AUTHENTICATE from it and, when that
 * works, signs and verifies with the derived keys. */
#include "fuzz.h"

#include "lib/auth/ntlmssp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ntlm_challenge ch;
    if (ntlm_parse_challenge(data, size, &ch) == 0) {
        fz_inside(ch.target_name, ch.target_name_len, data, size, "target name");
        fz_inside(ch.target_info, ch.target_info_len, data, size, "target info");
        (void)fz_touch(ch.target_name, ch.target_name_len);
        (void)fz_touch(ch.target_info, ch.target_info_len);
    }

    ntlm_ctx *c = NULL;
    ntlm_creds cr;
    memset(&cr, 0, sizeof cr);
    cr.user = "smbwtest";
    cr.domain = "WORKGROUP";
    cr.password = "smbw-Pass1";
    cr.workstation = "FUZZ";
    cr.target_host = "127.0.0.1";
    if (ntlm_new(&c, &cr) != 0)
        return 0;
    static const uint8_t cc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t sk[16] = {9, 9, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8, 8};
    const uint64_t t = 0x01d0000000000000ull;
    ntlm_set_test_params(c, cc, &t, sk);
    smbw_buf neg, auth;
    buf_init(&neg);
    buf_init(&auth);
    if (ntlm_negotiate(c, &neg) == 0 && ntlm_authenticate(c, data, size, &auth) == 0) {
        uint8_t key[16], sig[16];
        fz_check(ntlm_session_key(c, key) == 0, "no session key after AUTHENTICATE");
        if (ntlm_can_sign(c) && ntlm_sign(c, data, size, sig) == 0)
            FZ_IGNORE(ntlm_verify(c, data, size, sig, sizeof sig));
    }
    buf_free(&neg);
    buf_free(&auth);
    ntlm_free(c);
    return 0;
}
