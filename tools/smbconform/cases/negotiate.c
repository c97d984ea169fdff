/* Negotiation, sessions and transport: the dialect chosen for each offered
 * set, what a dialect's answer may carry, signing and encryption per dialect
 * and cipher, ECHO, LOGOFF and TREE_DISCONNECT closing what they own,
 * multi-credit requests, compounds (MS-SMB2 3.3.5.4, 3.3.5.5, 3.3.5.6,
 * 3.3.5.7, 3.3.5.8, 3.3.5.2.7, 3.3.5.17, 3.1.4.1, 3.1.4.3).
 *
 * These cases choose the dialects and security they offer themselves; the
 * run's --min-protocol/--max-protocol do not apply to them. */
#include <stdlib.h>
#include <string.h>

#include "../smbconform.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

/* ---- connections of the case's own choosing ---------------------------- */

int cf_neg_link(cf_env *e, const neg_want *w, cf_link **out)
{
    *out = NULL;
    size_t slot = 0;
    while (slot < CF_MAX_LINKS && e->links[slot] != NULL)
        slot++;
    cf_link *l = slot < CF_MAX_LINKS ? calloc(1, sizeof(*l)) : NULL;
    if (l == NULL)
        return SMBW_ENOMEM;
    e->links[slot] = l;
    *out = l;
    const char *step = "settings";
    int rc = smbw_conn_new(&l->c);
    if (rc == 0)
        rc = smbw_conn_set_dialects(l->c, w->min, w->max);
    if (rc == 0)
        rc = smbw_conn_set_timeout(l->c, e->tg->wait_ms);
    if (rc == 0)
        rc = smbw_conn_set_signing(l->c, w->sign);
    if (rc == 0)
        rc = smbw_conn_set_encryption(l->c, w->enc);
    if (rc == 0 && w->cipher != SMBW_CIPHER_NONE)
        rc = smbw_conn_set_ciphers(l->c, &w->cipher, 1);
    static const uint8_t odd[12] = {'s', 'm', 'b', 'c', 'o', 'n', 'f', 'o', 'r', 'm', 0, 1};
    enum smbw_sign_alg alg = (enum smbw_sign_alg)(w->sign_alg - 1);
    if (rc == 0 && w->sign_alg != 0)
        rc = smbw_conn_set_signing_algs(l->c, &alg, 1);
    if (rc == 0 && w->extra_ctx != 0)
        rc = smbw_conn_add_negotiate_context(l->c, w->extra_ctx, odd, sizeof(odd));
    if (rc == 0 && (step = "NEGOTIATE", true))
        rc = smbw_conn_connect(l->c, e->tg->host, e->tg->port);
    if (rc == 0 && w->session && (step = "SESSION_SETUP", true))
        rc = smbw_session_new(&l->s, l->c, &e->tg->creds);
    if (rc == 0 && w->tree && (step = "TREE_CONNECT", true))
        rc = smbw_tree_connect(&l->t, l->s, e->tg->share);
    if (rc != 0) {
        snprintf(e->reason, sizeof(e->reason), "%s: %s", step,
                 l->c != NULL ? cf_outcome(e, l->c, rc) : smbw_strerror(rc));
        return rc;
    }
    return 0;
}

static const uint16_t dialects[] = {SMBW_SMB2_02, SMBW_SMB2_10, SMBW_SMB3_00, SMBW_SMB3_02,
                                    SMBW_SMB3_11};

/* 3.3.5.4: offered one dialect, the server selects it, or refuses the
 * negotiation when it does not support it (then the case skips). */
static enum cf_result only_dialect(cf_env *e, uint16_t d)
{
    neg_want w = {d, d, SMBW_SIGN_AUTO, SMBW_ENCRYPT_AUTO, SMBW_CIPHER_NONE, true, true, 0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc != 0 && l != NULL && l->c != NULL && smbw_conn_dialect(l->c) == 0 &&
        !smbw_conn_is_dead(l->c))
        return cf_skip(e, "the server does not offer %s (%s)", smbw_dialect_name(d), e->reason);
    if (rc != 0)
        return cf_fail(e, "negotiated, logged in and connected to the share", "%s", e->reason);
    uint16_t got = smbw_conn_dialect(l->c);
    snprintf(e->expected, sizeof(e->expected), "%s", smbw_dialect_name(d));
    snprintf(e->got, sizeof(e->got), "%s", smbw_dialect_name(got));
    if (got != d)
        return CF_FAIL;
    rc = smbw_conn_echo(l->c);
    if (rc != 0)
        return cf_fail(e, "ECHO answered on the new connection", "%s", cf_outcome(e, l->c, rc));
    return CF_PASS;
}

static enum cf_result dialect_202(cf_env *e)
{
    return only_dialect(e, SMBW_SMB2_02);
}
static enum cf_result dialect_210(cf_env *e)
{
    return only_dialect(e, SMBW_SMB2_10);
}
static enum cf_result dialect_300(cf_env *e)
{
    return only_dialect(e, SMBW_SMB3_00);
}
static enum cf_result dialect_302(cf_env *e)
{
    return only_dialect(e, SMBW_SMB3_02);
}
static enum cf_result dialect_311(cf_env *e)
{
    return only_dialect(e, SMBW_SMB3_11);
}

/* 3.3.5.4: offered a range, the server selects the highest dialect it
 * supports among them: the highest one it accepted alone. */
static enum cf_result highest_common(cf_env *e, uint16_t min, uint16_t max)
{
    uint16_t best = 0;
    for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++) {
        if (dialects[i] < min || dialects[i] > max)
            continue;
        smbw_conn *c = NULL;
        int rc = smbw_conn_new(&c);
        if (rc == 0)
            rc = smbw_conn_set_dialects(c, dialects[i], dialects[i]);
        if (rc == 0)
            rc = smbw_conn_set_timeout(c, e->tg->wait_ms);
        if (rc == 0 && smbw_conn_connect(c, e->tg->host, e->tg->port) == 0)
            best = dialects[i];
        smbw_conn_free(c);
    }
    if (best == 0)
        return cf_skip(e, "the server accepts none of these dialects alone");
    neg_want w = {min, max, SMBW_SIGN_AUTO, SMBW_ENCRYPT_AUTO, SMBW_CIPHER_NONE, false, false,
                  0,   0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    snprintf(e->expected, sizeof(e->expected), "%s (the highest it accepts alone)",
             smbw_dialect_name(best));
    if (rc != 0)
        return cf_fail(e, e->expected, "%s", e->reason);
    snprintf(e->got, sizeof(e->got), "%s", smbw_dialect_name(smbw_conn_dialect(l->c)));
    return smbw_conn_dialect(l->c) == best ? CF_PASS : CF_FAIL;
}

static enum cf_result highest_all(cf_env *e)
{
    return highest_common(e, SMBW_SMB2_02, SMBW_SMB3_11);
}
static enum cf_result highest_2x(cf_env *e)
{
    return highest_common(e, SMBW_SMB2_02, SMBW_SMB2_10);
}
static enum cf_result highest_pre311(cf_env *e)
{
    return highest_common(e, SMBW_SMB2_02, SMBW_SMB3_02);
}

/* 2.2.4: the ServerGuid identifies the server: two connections see one. */
static enum cf_result server_guid_stable(cf_env *e)
{
    neg_want w = {SMBW_SMB2_02, SMBW_SMB3_11, 0, 0, SMBW_CIPHER_NONE, false, false, 0, 0};
    cf_link *a, *b;
    int rc = cf_neg_link(e, &w, &a);
    if (rc == 0)
        rc = cf_neg_link(e, &w, &b);
    if (rc != 0)
        return cf_error(e, "two connections: %s", e->reason);
    uint8_t ga[16], gb[16];
    if (smbw_conn_server_guid(a->c, ga) != 0 || smbw_conn_server_guid(b->c, gb) != 0)
        return cf_error(e, "no ServerGuid");
    if (memcmp(ga, gb, 16) != 0)
        return cf_fail(e, "the same ServerGuid on both", "two different ServerGuids");
    return CF_PASS;
}

/* 3.3.5.4: an SMB 2.0.2 answer carries none of the capabilities of later
 * dialects (LEASING, LARGE_MTU, MULTI_CHANNEL, PERSISTENT_HANDLES,
 * DIRECTORY_LEASING, ENCRYPTION); only DFS may be set. */
static enum cf_result caps_202(cf_env *e)
{
    neg_want w = {SMBW_SMB2_02, SMBW_SMB2_02, 0, 0, SMBW_CIPHER_NONE, false, false, 0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc == SMBW_EDIALECT)
        return cf_skip(e, "the server does not offer SMB2_02");
    if (rc != 0)
        return cf_error(e, "%s", e->reason);
    uint32_t caps = smbw_conn_server_capabilities(l->c);
    snprintf(e->expected, sizeof(e->expected), "Capabilities without 0x7E (at most DFS, 0x01)");
    snprintf(e->got, sizeof(e->got), "Capabilities 0x%08x", caps);
    return (caps & 0x7Eu) == 0 ? CF_PASS : CF_FAIL;
}

/* 2.2.4: MaxTransactSize, MaxReadSize and MaxWriteSize of at least 64 KiB
 * (what every SMB2 client may send without multi-credit requests). */
static enum cf_result max_sizes(cf_env *e)
{
    neg_want w = {SMBW_SMB2_02, SMBW_SMB3_11, 0, 0, SMBW_CIPHER_NONE, false, false, 0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc != 0)
        return cf_error(e, "%s", e->reason);
    uint32_t r = smbw_conn_max_read(l->c), wr = smbw_conn_max_write(l->c),
             t = smbw_conn_max_transact(l->c);
    snprintf(e->expected, sizeof(e->expected),
             "MaxReadSize, MaxWriteSize, MaxTransactSize >= 65536");
    snprintf(e->got, sizeof(e->got), "%u, %u, %u", r, wr, t);
    return r >= 65536 && wr >= 65536 && t >= 65536 ? CF_PASS : CF_FAIL;
}

/* Signing required by the client: every answer of the session is signed
 * with the dialect's algorithm (3.1.4.1: HMAC-SHA256 for 2.x, AES-128-CMAC
 * for 3.0/3.0.2, CMAC or GMAC as negotiated for 3.1.1) and verifies (the
 * library checks each answer's signature). */
static enum cf_result signed_with(cf_env *e, uint16_t d, const char *alg, const char *alg2)
{
    neg_want w = {d, d, SMBW_SIGN_REQUIRED, 0, SMBW_CIPHER_NONE, true, true, 0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc == SMBW_EDIALECT)
        return cf_skip(e, "the server does not offer %s", smbw_dialect_name(d));
    if (rc != 0)
        return cf_fail(e, "a signed session", "%s", e->reason);
    const char *got = smbw_session_signing_alg(l->s);
    snprintf(e->expected, sizeof(e->expected), "signed with %s%s%s, a signed round trip", alg,
             alg2 != NULL ? " or " : "", alg2 != NULL ? alg2 : "");
    snprintf(e->got, sizeof(e->got), "%s%s",
             smbw_session_signed(l->s) ? "signed with " : "unsigned, ", got);
    if (!smbw_session_signed(l->s) ||
        (strcmp(got, alg) != 0 && (alg2 == NULL || strcmp(got, alg2) != 0)))
        return CF_FAIL;
    smbw_stat st;
    rc = smbw_stat_path(l->t, e->dir, &st);
    if (rc != 0)
        return cf_fail(e, e->expected, "a signed request failed: %s", cf_outcome(e, l->c, rc));
    return CF_PASS;
}

/* 3.3.5.4 / 2.2.4.1.7: offered one signing algorithm alone at 3.1.1, the
 * server selects it (an answer without SIGNING_CAPABILITIES means
 * AES-128-CMAC) and signs with it; the library verifies each answer. */
static enum cf_result signing_alg_alone(cf_env *e, enum smbw_sign_alg alg, const char *name)
{
    neg_want w = {
        SMBW_SMB3_11, SMBW_SMB3_11, SMBW_SIGN_REQUIRED, 0, SMBW_CIPHER_NONE, true, true, 0,
        (int)alg + 1};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc == SMBW_EDIALECT)
        return cf_skip(e, "the server does not offer SMB3_11 (%s)", e->reason);
    snprintf(e->expected, sizeof(e->expected), "%s selected, a signed round trip", name);
    if (rc != 0)
        return cf_fail(e, e->expected, "%s", e->reason);
    smbw_stat st;
    rc = smbw_stat_path(l->t, e->dir, &st);
    snprintf(e->got, sizeof(e->got), "%s, %s", smbw_session_signing_alg(l->s),
             cf_outcome(e, l->c, rc));
    return rc == 0 && strcmp(smbw_session_signing_alg(l->s), name) == 0 ? CF_PASS : CF_FAIL;
}

static enum cf_result signing_alone_hmac(cf_env *e)
{
    return signing_alg_alone(e, SMBW_SIGN_ALG_HMAC_SHA256, "HMAC-SHA256");
}
static enum cf_result signing_alone_cmac(cf_env *e)
{
    return signing_alg_alone(e, SMBW_SIGN_ALG_AES_128_CMAC, "AES-128-CMAC");
}
static enum cf_result signing_alone_gmac(cf_env *e)
{
    return signing_alg_alone(e, SMBW_SIGN_ALG_AES_128_GMAC, "AES-128-GMAC");
}

static enum cf_result signing_210(cf_env *e)
{
    return signed_with(e, SMBW_SMB2_10, "HMAC-SHA256", NULL);
}
static enum cf_result signing_300(cf_env *e)
{
    return signed_with(e, SMBW_SMB3_00, "AES-128-CMAC", NULL);
}
static enum cf_result signing_311(cf_env *e)
{
    return signed_with(e, SMBW_SMB3_11, "AES-128-CMAC", "AES-128-GMAC");
}

/* Encryption required with one cipher offered: the session encrypts with it
 * and encrypted requests are served (a file written and read back). A
 * server without that cipher makes the case skip. */
static enum cf_result encrypted_with(cf_env *e, uint16_t d, enum smbw_cipher ci, const char *name)
{
    neg_want w = {d, d, SMBW_SIGN_AUTO, SMBW_ENCRYPT_REQUIRED, ci, true, true, 0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc == SMBW_EPOLICY || rc == SMBW_EDIALECT)
        return cf_skip(e, "the server cannot encrypt with %s at %s (%s)", name,
                       smbw_dialect_name(d), e->reason);
    if (rc != 0)
        return cf_fail(e, "an encrypted session", "%s", e->reason);
    snprintf(e->expected, sizeof(e->expected), "encrypted with %s, an encrypted round trip", name);
    snprintf(e->got, sizeof(e->got), "%s", smbw_session_cipher(l->s));
    if (!smbw_session_encrypted(l->s) || strcmp(smbw_session_cipher(l->s), name) != 0)
        return CF_FAIL;
    static const char data[] = "sealed";
    char path[200];
    snprintf(path, sizeof(path), "%s/enc.txt", e->dir);
    void *back = NULL;
    size_t len = 0;
    rc = smbw_write_file(l->t, path, data, sizeof(data));
    if (rc == 0)
        rc = smbw_read_file(l->t, path, &back, &len, 4096);
    bool same = rc == 0 && len == sizeof(data) && memcmp(back, data, len) == 0;
    free(back);
    if (!same)
        return cf_fail(e, e->expected, "the round trip: %s", cf_outcome(e, l->c, rc));
    return CF_PASS;
}

static enum cf_result enc_300(cf_env *e)
{
    return encrypted_with(e, SMBW_SMB3_00, SMBW_CIPHER_AES_128_CCM, "AES-128-CCM");
}
static enum cf_result enc_128ccm(cf_env *e)
{
    return encrypted_with(e, SMBW_SMB3_11, SMBW_CIPHER_AES_128_CCM, "AES-128-CCM");
}
static enum cf_result enc_128gcm(cf_env *e)
{
    return encrypted_with(e, SMBW_SMB3_11, SMBW_CIPHER_AES_128_GCM, "AES-128-GCM");
}
static enum cf_result enc_256ccm(cf_env *e)
{
    return encrypted_with(e, SMBW_SMB3_11, SMBW_CIPHER_AES_256_CCM, "AES-256-CCM");
}
static enum cf_result enc_256gcm(cf_env *e)
{
    return encrypted_with(e, SMBW_SMB3_11, SMBW_CIPHER_AES_256_GCM, "AES-256-GCM");
}

/* 3.3.5.2.9 leaves ECHO out of session verification: answered right after
 * NEGOTIATE, before any SESSION_SETUP. */
static enum cf_result echo_before_session(cf_env *e)
{
    neg_want w = {SMBW_SMB2_02, SMBW_SMB3_11, 0, 0, SMBW_CIPHER_NONE, false, false, 0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc != 0)
        return cf_error(e, "%s", e->reason);
    rc = smbw_conn_echo(l->c);
    snprintf(e->expected, sizeof(e->expected), "STATUS_SUCCESS");
    snprintf(e->got, sizeof(e->got), "%s", cf_outcome(e, l->c, rc));
    return rc == 0 ? CF_PASS : CF_FAIL;
}

/* 3.3.5.6: LOGOFF ends one session; the connection and its other sessions
 * carry on. */
static enum cf_result logoff_keeps_connection(cf_env *e)
{
    smbw_session *s = NULL;
    int rc = smbw_session_new(&s, e->main.c, &e->tg->creds);
    if (rc != 0)
        return cf_error(e, "a second session: %s", cf_outcome(e, e->main.c, rc));
    smbw_session_free(s);
    rc = smbw_conn_echo(e->main.c);
    smbw_stat st;
    if (rc == 0)
        rc = smbw_stat_path(e->main.t, e->dir, &st);
    snprintf(e->expected, sizeof(e->expected), "ECHO and the first session's requests answered");
    snprintf(e->got, sizeof(e->got), "%s", cf_outcome(e, e->main.c, rc));
    return rc == 0 ? CF_PASS : CF_FAIL;
}

/* An exclusive open (ShareAccess 0) of name on t. */
static int open_exclusive(cf_env *e, smbw_tree *t, const char *name, smbw_file **f)
{
    smbw_create_params cp = {
        .desired_access = 0x0012019Fu,
        .share_access = 0,
        .create_disposition = 3, /* FILE_OPEN_IF */
        .impersonation_level = 2,
    };
    return smbw_file_create(f, t, cf_path(e, name), &cp);
}

/* After the owner of an exclusive open went away, a new exclusive open of
 * the file succeeds (STATUS_SHARING_VIOLATION: the old open lives on). */
static enum cf_result reopen_exclusive(cf_env *e, const char *what)
{
    smbw_file *g = NULL;
    int rc = open_exclusive(e, e->main.t, "x.bin", &g);
    snprintf(e->expected, sizeof(e->expected),
             "the file's opens closed by %s: a new exclusive "
             "open succeeds",
             what);
    snprintf(e->got, sizeof(e->got), "%s", cf_outcome(e, e->main.c, rc));
    smbw_file_free(g);
    return rc == 0 ? CF_PASS : CF_FAIL;
}

/* 3.3.5.8: TREE_DISCONNECT of a tree in use closes the opens made on it. */
static enum cf_result tree_disconnect_closes(cf_env *e)
{
    smbw_tree *t = NULL;
    smbw_file *f = NULL;
    int rc = smbw_tree_connect(&t, e->main.s, e->tg->share);
    if (rc == 0)
        rc = open_exclusive(e, t, "x.bin", &f);
    if (rc != 0) {
        smbw_tree_free(t);
        return cf_error(e, "an exclusive open on a second tree: %s", cf_outcome(e, e->main.c, rc));
    }
    smbw_tree_free(t); /* with f still open */
    smbw_file_free(f);
    return reopen_exclusive(e, "TREE_DISCONNECT");
}

/* 3.3.5.6: LOGOFF closes the session's opens. */
static enum cf_result logoff_closes(cf_env *e)
{
    smbw_session *s = NULL;
    smbw_tree *t = NULL;
    smbw_file *f = NULL;
    int rc = smbw_session_new(&s, e->main.c, &e->tg->creds);
    if (rc == 0)
        rc = smbw_tree_connect(&t, s, e->tg->share);
    if (rc == 0)
        rc = open_exclusive(e, t, "x.bin", &f);
    smbw_session_free(s); /* with t and f still open */
    smbw_tree_free(t);
    smbw_file_free(f);
    if (rc != 0)
        return cf_error(e, "an exclusive open on a second session: %s",
                        cf_outcome(e, e->main.c, rc));
    return reopen_exclusive(e, "LOGOFF");
}

/* 3.3.5.2.5 / 3.1.5.2: a READ or WRITE of 1 MiB is one request with a
 * CreditCharge of 16 where the server offers LARGE_MTU and sizes that
 * large; its data arrives whole. */
static enum cf_result large_request(cf_env *e, bool write)
{
    smbw_conn *c = e->main.c;
    uint32_t max = write ? smbw_conn_max_write(c) : smbw_conn_max_read(c);
    if (smbw_conn_dialect(c) < SMBW_SMB2_10 || max < 1 * MiB)
        return cf_skip(e, "%s at most %u bytes on %s", write ? "WRITE" : "READ", max,
                       smbw_dialect_name(smbw_conn_dialect(c)));
    smbw_file *f;
    int rc = cf_open(e, e->main.t, "big.bin", SMBW_O_RDWR | SMBW_O_CREAT | SMBW_O_TRUNC, &f);
    if (rc == 0 && !write)
        rc = cf_fill(f, 0, 1 * MiB, 1);
    if (rc != 0)
        return cf_error(e, "cannot set up big.bin: %s", cf_outcome(e, c, rc));
    smbw_conn_stats before, after;
    smbw_conn_get_stats(c, &before);
    if (write) {
        uint8_t *buf = malloc(1 * MiB);
        if (buf == NULL)
            return cf_error(e, "out of memory");
        for (uint32_t i = 0; i < 1 * MiB; i++)
            buf[i] = cf_pattern(i, 1);
        rc = smbw_file_pwrite(f, buf, 1 * MiB, 0);
        free(buf);
    } else {
        uint8_t *buf = malloc(1 * MiB);
        if (buf == NULL)
            return cf_error(e, "out of memory");
        size_t got = 0;
        rc = smbw_file_pread(f, buf, 1 * MiB, 0, &got);
        uint32_t bad = 0;
        while (rc == 0 && bad < got && buf[bad] == cf_pattern(bad, 1))
            bad++;
        free(buf);
        if (rc == 0 && (got != 1 * MiB || bad != got))
            return cf_fail(e, "the 1 MiB read whole", "%zu bytes, the first %u right", got, bad);
    }
    smbw_conn_get_stats(c, &after);
    snprintf(e->expected, sizeof(e->expected), "one %s request of 1 MiB answered",
             write ? "WRITE" : "READ");
    snprintf(e->got, sizeof(e->got), "%s, %llu request(s)", cf_outcome(e, c, rc),
             (unsigned long long)(after.requests - before.requests));
    if (rc != 0 || after.requests - before.requests != 1)
        return CF_FAIL;
    if (write) {
        cf_chunk ch = {0, 0, 1 * MiB};
        return cf_verify_chunks(e, "big.bin", &ch, 1);
    }
    return CF_PASS;
}

static enum cf_result large_read(cf_env *e)
{
    return large_request(e, false);
}
static enum cf_result large_write(cf_env *e)
{
    return large_request(e, true);
}

/* 3.3.5.2.7.2: a related compound (CREATE + WRITE) acts on the open the
 * CREATE made. */
static enum cf_result compound_related(cf_env *e)
{
    smbw_create_params cp = {
        .desired_access = 0x0012019Fu,
        .share_access = 7,
        .create_disposition = 5, /* FILE_OVERWRITE_IF */
        .impersonation_level = 2,
    };
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = cf_pattern(i, 1);
    smbw_file *f = NULL;
    int rc = smbw_file_create_write(&f, e->main.t, cf_path(e, "c.bin"), &cp, data, sizeof(data));
    smbw_file_free(f);
    if (rc != 0)
        return cf_fail(e, "CREATE + WRITE compounded, related: both succeed", "%s",
                       cf_outcome(e, e->main.c, rc));
    cf_chunk ch = {0, 0, sizeof(data)};
    return cf_verify_chunks(e, "c.bin", &ch, 1);
}

/* 3.3.5.2.7.1: in an unrelated compound each request stands alone: a failing
 * SET_INFO (a rename onto an existing name) does not keep the CLOSE after it
 * from closing the file. */
static enum cf_result compound_error_in_middle(cf_env *e)
{
    smbw_file *f = NULL, *o = NULL;
    int rc = open_exclusive(e, e->main.t, "x.bin", &f);
    if (rc == 0)
        rc = cf_open(e, e->main.t, "taken.bin", SMBW_O_WRONLY | SMBW_O_CREAT, &o);
    if (rc != 0) {
        smbw_file_free(f);
        return cf_error(e, "cannot set up: %s", cf_outcome(e, e->main.c, rc));
    }
    smbw_commit cm = SMBW_COMMIT_INIT;
    cm.rename_to = cf_path(e, "taken.bin");
    cm.replace = false;
    rc = smbw_file_commit(f, &cm, NULL);
    uint32_t st = smbw_last_status(e->main.c);
    if (rc == 0 || st != SMBW_STATUS_OBJECT_NAME_COLLISION)
        return cf_fail(e, "the rename fails with STATUS_OBJECT_NAME_COLLISION", "%s",
                       cf_outcome(e, e->main.c, rc));
    return reopen_exclusive(e, "the CLOSE after the failed SET_INFO");
}

/* 3.3.5.7 / 3.3.5.9: requests on a second session of the connection are
 * served alongside the first's, each with its own tree. */
static enum cf_result two_sessions(cf_env *e)
{
    smbw_session *s = NULL;
    smbw_tree *t = NULL;
    int rc = smbw_session_new(&s, e->main.c, &e->tg->creds);
    if (rc == 0)
        rc = smbw_tree_connect(&t, s, e->tg->share);
    static const char data[] = "two";
    char path[200];
    snprintf(path, sizeof(path), "%s/s2.txt", e->dir);
    void *back = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = smbw_write_file(t, path, data, sizeof(data));
    if (rc == 0)
        rc = smbw_read_file(e->main.t, path, &back, &len, 4096);
    bool same = rc == 0 && len == sizeof(data) && memcmp(back, data, len) == 0;
    free(back);
    smbw_tree_free(t);
    smbw_session_free(s);
    if (!same)
        return cf_fail(e, "a file written on the second session reads back on the first", "%s",
                       cf_outcome(e, e->main.c, rc));
    return CF_PASS;
}

/* 3.3.5.4: a negotiate context of a type the server does not know is
 * ignored. The session is signed: at 3.1.1 its keys come from the
 * pre-authentication hash over NEGOTIATE and SESSION_SETUP (3.3.5.5), so
 * signed answers that verify show the server hashed the request as sent,
 * unknown context included. */
static enum cf_result unknown_context(cf_env *e)
{
    neg_want w = {
        SMBW_SMB3_11, SMBW_SMB3_11, SMBW_SIGN_REQUIRED, 0, SMBW_CIPHER_NONE, true, true, 0xF0F0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc != 0 && l != NULL && l->c != NULL && smbw_conn_dialect(l->c) == 0 &&
        !smbw_conn_is_dead(l->c) && rc == SMBW_EDIALECT)
        return cf_skip(e, "the server does not offer SMB3_11 (%s)", e->reason);
    if (rc != 0)
        return cf_fail(e, "3.1.1 negotiated, a signed session and tree", "%s", e->reason);
    smbw_stat st;
    rc = smbw_stat_path(l->t, e->dir, &st);
    snprintf(e->expected, sizeof(e->expected), "3.1.1, signed answers that verify");
    snprintf(e->got, sizeof(e->got), "%s, %s, %s", smbw_dialect_name(smbw_conn_dialect(l->c)),
             smbw_session_signing_alg(l->s), cf_outcome(e, l->c, rc));
    return rc == 0 && smbw_session_signed(l->s) ? CF_PASS : CF_FAIL;
}

/* ---- VALIDATE_NEGOTIATE_INFO (3.0, 3.0.2) ---------------------------- */

/* The library validates the negotiation itself on the first tree connect of
 * a signed 3.0/3.0.2 session (MS-SMB2 3.2.5.5, FSCTL_VALIDATE_NEGOTIATE_INFO):
 * a tree connect that succeeds means the server's answer matched its
 * NEGOTIATE. */
static enum cf_result validate_ok(cf_env *e)
{
    neg_want w = {
        SMBW_SMB3_02, SMBW_SMB3_02, SMBW_SIGN_REQUIRED, 0, SMBW_CIPHER_NONE, true, true, 0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc != 0 && l != NULL && l->c != NULL && smbw_conn_dialect(l->c) == 0 &&
        !smbw_conn_is_dead(l->c))
        return cf_skip(e, "the server does not offer SMB3_02 (%s)", e->reason);
    if (rc != 0)
        return cf_fail(e, "the tree connect with its validation succeeds", "%s", e->reason);
    return CF_PASS;
}

/* 3.3.5.15.12: a VALIDATE_NEGOTIATE_INFO whose values differ from the
 * connection's NEGOTIATE (here: no capabilities, a zero ClientGuid, only
 * dialect 2.0.2) makes the server terminate the connection. */
static enum cf_result validate_mismatch(cf_env *e)
{
    neg_want w = {
        SMBW_SMB3_00, SMBW_SMB3_00, SMBW_SIGN_AUTO, 0, SMBW_CIPHER_NONE, true, true, 0, 0};
    cf_link *l;
    int rc = cf_neg_link(e, &w, &l);
    if (rc != 0 && l != NULL && l->c != NULL && smbw_conn_dialect(l->c) == 0 &&
        !smbw_conn_is_dead(l->c))
        return cf_skip(e, "the server does not offer SMB3_00 (%s)", e->reason);
    if (rc != 0)
        return cf_error(e, "%s", e->reason);
    uint8_t in[26] = {0}; /* Capabilities 0, Guid 0, SecurityMode 0 */
    in[22] = 1;           /* DialectCount 1 */
    in[24] = 0x02;        /* Dialects: 0x0202 */
    in[25] = 0x02;
    void *out = NULL;
    size_t len = 0;
    rc = smbw_tree_ioctl(l->t, SMBW_FSCTL_VALIDATE_NEGOTIATE_INFO, in, sizeof(in), 24, &out, &len);
    free(out);
    snprintf(e->expected, sizeof(e->expected), "the connection terminated");
    snprintf(e->got, sizeof(e->got), "%s", cf_outcome(e, l->c, rc));
    if (!smbw_conn_is_dead(l->c)) /* an answer may come before the close */
        rc = smbw_conn_echo(l->c);
    return smbw_conn_is_dead(l->c) ? CF_PASS : CF_FAIL;
}

/* ---- a request the server holds: STATUS_PENDING, CANCEL ----------------- */

typedef struct waiting {
    bool done;
    int err;
    uint32_t status;
} waiting;

static void on_lock(void *ud, int err, uint32_t status, const void *data, size_t len)
{
    waiting *w = ud;
    (void)data;
    (void)len;
    w->done = true;
    w->err = err;
    w->status = status;
}

/* Services c until w is done or ms pass. */
static int wait_for(smbw_conn *c, waiting *w, int ms)
{
    smbw_conn *const conns[1] = {c};
    for (int left = ms; !w->done && left > 0; left -= 50) {
        int rc = smbw_conn_wait(conns, 1, 50, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The main link holds an exclusive lock on [0, 8 KiB) of x.bin; a second
 * connection asks for the same range and waits (no FAIL_IMMEDIATELY). The
 * request must still be outstanding after a second (3.3.5.14: the server
 * holds it, answering STATUS_PENDING). */
static enum cf_result held_lock(cf_env *e, cf_link **l, waiting *w)
{
    smbw_file *a, *b;
    int rc = cf_open(e, e->main.t, "x.bin", SMBW_O_RDWR | SMBW_O_CREAT, &a);
    if (rc == 0)
        rc = smbw_file_lock(a, 0, 8192, SMBW_LOCK_EXCLUSIVE | SMBW_LOCK_FAIL_IMMEDIATELY);
    if (rc != 0)
        return cf_error(e, "cannot lock x.bin: %s", cf_outcome(e, e->main.c, rc));
    if ((rc = cf_connect(e, NULL, l)) != 0)
        return cf_error(e, "second connection: %s", e->reason);
    if ((rc = cf_open(e, (*l)->t, "x.bin", SMBW_O_RDWR, &b)) != 0)
        return cf_error(e, "cannot open x.bin again: %s", cf_outcome(e, (*l)->c, rc));
    memset(w, 0, sizeof(*w));
    if ((rc = smbw_file_lock_async(b, 0, 8192, SMBW_LOCK_EXCLUSIVE, on_lock, w)) != 0)
        return cf_error(e, "cannot start the waiting lock: %s", cf_outcome(e, (*l)->c, rc));
    rc = wait_for((*l)->c, w, 1000);
    if (rc != 0 || w->done)
        return cf_fail(e, "the conflicting lock held by the server (STATUS_PENDING)", "%s",
                       rc != 0       ? cf_outcome(e, (*l)->c, rc)
                       : w->err == 0 ? "granted at once"
                                     : smbw_status_name(w->status));
    return CF_PASS;
}

/* 3.3.5.16: CANCEL of a held request ends it with STATUS_CANCELLED. */
static enum cf_result pending_cancel(cf_env *e)
{
    cf_link *l;
    waiting w;
    enum cf_result r = held_lock(e, &l, &w);
    if (r != CF_PASS)
        return r;
    int rc = smbw_conn_cancel(l->c);
    if (rc >= 0)
        rc = wait_for(l->c, &w, e->tg->wait_ms);
    snprintf(e->expected, sizeof(e->expected), "the held LOCK ends with STATUS_CANCELLED");
    if (rc < 0 || !w.done)
        return cf_fail(e, e->expected, "%s", rc < 0 ? cf_outcome(e, l->c, rc) : "no answer");
    snprintf(e->got, sizeof(e->got), "%s",
             w.err == 0 ? "STATUS_SUCCESS" : smbw_status_name(w.status));
    if (w.status != SMBW_STATUS_CANCELLED)
        return CF_FAIL;
    rc = smbw_conn_echo(l->c);
    return rc == 0 ? CF_PASS
                   : cf_fail(e, "the connection carries on", "ECHO: %s", cf_outcome(e, l->c, rc));
}

/* A held lock request is granted once the conflicting lock goes. */
static enum cf_result pending_granted(cf_env *e)
{
    cf_link *l;
    waiting w;
    enum cf_result r = held_lock(e, &l, &w);
    if (r != CF_PASS)
        return r;
    smbw_file *a = NULL;
    for (size_t i = 0; i < CF_MAX_FILES && a == NULL; i++)
        a = e->files[i]; /* x.bin on the main link: the first registered */
    int rc = smbw_file_lock(a, 0, 8192, SMBW_LOCK_UNLOCK);
    if (rc != 0)
        return cf_error(e, "cannot unlock: %s", cf_outcome(e, e->main.c, rc));
    rc = wait_for(l->c, &w, e->tg->wait_ms);
    snprintf(e->expected, sizeof(e->expected), "the held LOCK granted after the unlock");
    snprintf(e->got, sizeof(e->got), "%s",
             rc != 0      ? cf_outcome(e, l->c, rc)
             : !w.done    ? "no answer"
             : w.err == 0 ? "STATUS_SUCCESS"
                          : smbw_status_name(w.status));
    return rc == 0 && w.done && w.err == 0 ? CF_PASS : CF_FAIL;
}

#define NEG "MS-SMB2 3.3.5.4"
const cf_case cf_cases_negotiate[] = {
    {"negotiate_dialect_2_0_2", NEG, "offered SMB 2.0.2 alone: selected, a session and ECHO work",
     dialect_202},
    {"negotiate_dialect_2_1", NEG, "offered SMB 2.1 alone: selected", dialect_210},
    {"negotiate_dialect_3_0", NEG, "offered SMB 3.0 alone: selected", dialect_300},
    {"negotiate_dialect_3_0_2", NEG, "offered SMB 3.0.2 alone: selected", dialect_302},
    {"negotiate_dialect_3_1_1", NEG, "offered SMB 3.1.1 alone (with negotiate contexts): selected",
     dialect_311},
    {"negotiate_highest_of_all", NEG, "offered 2.0.2-3.1.1: the highest it accepts alone",
     highest_all},
    {"negotiate_highest_of_2x", NEG, "offered 2.0.2 and 2.1: the highest it accepts alone",
     highest_2x},
    {"negotiate_highest_without_311", NEG,
     "offered 2.0.2-3.0.2 (no negotiate contexts): the highest it accepts alone", highest_pre311},
    {"negotiate_server_guid_stable", "MS-SMB2 2.2.4", "two connections see one ServerGuid",
     server_guid_stable},
    {"negotiate_caps_2_0_2", NEG, "an SMB 2.0.2 answer carries no capability of later dialects",
     caps_202},
    {"negotiate_max_sizes", "MS-SMB2 2.2.4",
     "MaxReadSize, MaxWriteSize and MaxTransactSize of at least 65536", max_sizes},
    {"session_signing_2_1", "MS-SMB2 3.1.4.1",
     "signing required at 2.1: HMAC-SHA256, signed answers verify", signing_210},
    {"session_signing_3_0", "MS-SMB2 3.1.4.1",
     "signing required at 3.0: AES-128-CMAC, signed answers verify", signing_300},
    {"session_signing_3_1_1", "MS-SMB2 3.1.4.1",
     "signing required at 3.1.1: CMAC or GMAC as negotiated, signed answers verify", signing_311},
    {"session_encrypt_3_0", "MS-SMB2 3.1.4.3",
     "encryption required at 3.0: AES-128-CCM, an encrypted round trip", enc_300},
    {"session_encrypt_aes_128_ccm", "MS-SMB2 2.2.3.1.2",
     "3.1.1 offering AES-128-CCM alone: selected, an encrypted round trip", enc_128ccm},
    {"session_encrypt_aes_128_gcm", "MS-SMB2 2.2.3.1.2",
     "3.1.1 offering AES-128-GCM alone: selected, an encrypted round trip", enc_128gcm},
    {"session_encrypt_aes_256_ccm", "MS-SMB2 2.2.3.1.2",
     "3.1.1 offering AES-256-CCM alone: selected, an encrypted round trip", enc_256ccm},
    {"session_encrypt_aes_256_gcm", "MS-SMB2 2.2.3.1.2",
     "3.1.1 offering AES-256-GCM alone: selected, an encrypted round trip", enc_256gcm},
    {"transport_echo_before_session", "MS-SMB2 3.3.5.2.9",
     "ECHO right after NEGOTIATE, before any session: answered", echo_before_session},
    {"session_logoff_keeps_connection", "MS-SMB2 3.3.5.6",
     "LOGOFF of a second session: the connection and the first session carry on",
     logoff_keeps_connection},
    {"session_logoff_closes_opens", "MS-SMB2 3.3.5.6",
     "LOGOFF closes the session's opens (an exclusive open is released)", logoff_closes},
    {"session_tree_disconnect_in_use", "MS-SMB2 3.3.5.8",
     "TREE_DISCONNECT of a tree with an open file closes that open", tree_disconnect_closes},
    {"session_two_sessions", "MS-SMB2 3.3.5.5",
     "two sessions on one connection, each with its tree, serve the same files", two_sessions},
    {"transport_large_read", "MS-SMB2 3.3.5.2.5",
     "a 1 MiB READ as one multi-credit request (CreditCharge 16)", large_read},
    {"transport_large_write", "MS-SMB2 3.3.5.2.5",
     "a 1 MiB WRITE as one multi-credit request (CreditCharge 16)", large_write},
    {"transport_compound_related", "MS-SMB2 3.3.5.2.7.2",
     "CREATE + WRITE compounded, related: the write lands in the new file", compound_related},
    {"transport_compound_error_in_middle", "MS-SMB2 3.3.5.2.7.1",
     "an unrelated compound whose SET_INFO fails: the CLOSE after it still closes",
     compound_error_in_middle},
    {"negotiate_unknown_context", NEG,
     "a negotiate context of an unknown type is ignored; the pre-auth hash covers it (signed)",
     unknown_context},
    {"negotiate_validate_3_0_2", "MS-SMB2 3.3.5.15.12",
     "SMB 3.0.2: the tree connect's VALIDATE_NEGOTIATE_INFO answer matches the NEGOTIATE",
     validate_ok},
    {"negotiate_validate_mismatch", "MS-SMB2 3.3.5.15.12",
     "SMB 3.0: a VALIDATE_NEGOTIATE_INFO that does not match the NEGOTIATE ends the connection",
     validate_mismatch},
    {"transport_pending_cancel", "MS-SMB2 3.3.5.16",
     "a LOCK the server holds (STATUS_PENDING) ends with STATUS_CANCELLED on CANCEL",
     pending_cancel},
    {"negotiate_signing_hmac_sha256", "MS-SMB2 2.2.3.1.7",
     "3.1.1 offering HMAC-SHA256 alone for signing: selected, signed answers verify",
     signing_alone_hmac},
    {"negotiate_signing_aes_128_cmac", "MS-SMB2 2.2.3.1.7",
     "3.1.1 offering AES-128-CMAC alone for signing: selected, signed answers verify",
     signing_alone_cmac},
    {"negotiate_signing_aes_128_gmac", "MS-SMB2 2.2.3.1.7",
     "3.1.1 offering AES-128-GMAC alone for signing: selected, signed answers verify",
     signing_alone_gmac},
    {"transport_pending_granted", "MS-SMB2 3.3.5.14",
     "a LOCK the server holds is granted once the conflicting lock is released", pending_granted},
    {NULL, NULL, NULL, NULL},
};
