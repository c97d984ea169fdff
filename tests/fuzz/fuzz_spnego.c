/* SPNEGO and its DER codec, alone and driven by the authenticator. The first
 * input byte picks the mode; the rest is the token(s):
 *   0: spnego_decode_init (the server's NegTokenInit2 hint)
 *   1: spnego_decode_resp (NegTokenResp)
 *   2: auth_step after a real first step (empty hint): the rest is the
 *      server's reply carrying the CHALLENGE; when that step succeeds the
 *      same bytes are fed again as the final token
 *   3: as 2 with two tokens: u16le length L, then L bytes for the challenge
 *      step and the remainder for the final step
 *   4: the rest is the NEGOTIATE hint fed to the first step */
#include "fuzz.h"

#include "lib/auth/auth.h"
#include "lib/auth/spnego.h"
#include "tests/common/rawbytes.h"

static void run_auth(const uint8_t *hint, size_t hintlen, const uint8_t *t1, size_t l1,
                     const uint8_t *t2, size_t l2)
{
    auth_params p;
    memset(&p, 0, sizeof p);
    p.mech = AUTH_NTLM;
    p.user = "smbwtest";
    p.password = "smbw-Pass1";
    p.target_host = "127.0.0.1";
    smbw_auth *a = NULL;
    if (auth_new(&a, &p) != 0)
        return;
    smbw_buf out;
    buf_init(&out);
    int rc = auth_step(a, hint, hintlen, &out);
    if (rc == AUTH_CONTINUE && t1) {
        rc = auth_step(a, t1, l1, &out);
        if (rc >= 0 && t2)
            rc = auth_step(a, t2, l2, &out);
        if (rc >= 0) {
            uint8_t key[64];
            size_t kl = sizeof key;
            if (auth_session_key(a, key, &kl) == 0)
                fz_check(kl <= sizeof key, "session key longer than its buffer");
        }
    }
    (void)auth_errmsg(a);
    buf_free(&out);
    auth_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: {
        spnego_init in;
        if (spnego_decode_init(p, n, &in) == 0) {
            fz_inside(in.mech_types, in.mech_types_len, p, n, "mechTypes");
            if (in.have_mech_token)
                fz_inside(in.mech_token, in.mech_token_len, p, n, "mechToken");
            fz_check(in.n_mechs >= 0, "negative mech count");
        }
        break;
    }
    case 1: {
        spnego_resp r;
        if (spnego_decode_resp(p, n, &r) == 0) {
            if (r.have_token)
                fz_inside(r.token, r.token_len, p, n, "responseToken");
            if (r.have_mic)
                fz_inside(r.mic, r.mic_len, p, n, "mechListMIC");
        }
        break;
    }
    case 2:
        run_auth(NULL, 0, p, n, p, n);
        break;
    case 3: {
        if (n < 2)
            break;
        size_t l = get_u16(p);
        if (l > n - 2)
            l = n - 2;
        run_auth(NULL, 0, p + 2, l, p + 2 + l, n - 2 - l);
        break;
    }
    default:
        run_auth(p, n, NULL, 0, NULL, 0);
        break;
    }
    return 0;
}
